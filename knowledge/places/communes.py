"""French communes: turn what a citizen types (a postcode, a commune name written any way, a sentence
mentioning one) or a GPS point into a place with coordinates.

    index = communes()                      # loaded once
    index.resolve("st lo 50000")            # a text meant to be a place: found / ambiguous / unknown / invalid
    index.find_in_sentence("des ateliers à Cherbourg ?")   # a place mentioned in a question, or None
    index.locate(49.11, -1.08)              # a GPS point
    index.choose("50502")                   # the citizen picked a candidate of an ambiguity

The data is the shipped ``knowledge/data/communes.csv`` (current communes, delegated and associated
communes, and the arrondissements of Paris, Lyon and Marseille).  Only the standard library and
rapidfuzz are used, so this module also runs in the Rasa environment (Python 3.10).

In a sentence a commune counts only after a preposition ("à", "près de", "j'habite"...) or as a
postcode, and words that are also communes (Rue, Mars, Eu, Y...) never do: a question with no place
must not be answered about one.  Capital letters help with typos: "à Cherboug" is
Cherbourg-en-Cotentin, "au calme" is no typo for Came (64).
"""

from __future__ import annotations

import csv
import gc
import io
import math
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "communes.csv"

MAX_TEXT_LENGTH = 200  # resolve(): a longer text is not a place
MAX_SENTENCE_LENGTH = 1000  # find_in_sentence(): a longer text is not searched
MAX_CANDIDATES = 8
OUTSIDE_FRANCE_KM = 30.0

Status = Literal["found", "ambiguous", "unknown", "invalid"]

_COLUMNS = ["insee", "name", "kind", "parent", "departement", "postcodes", "lat", "lon", "population"]
_CURRENT_KINDS = frozenset({"commune", "arrondissement"})
_DELEGATED_KINDS = frozenset({"deleguee", "associee"})
# Communes split into arrondissements: the data holds the arrondissements, maybe not the city itself.
_CITIES_WITH_ARRONDISSEMENTS = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}


@dataclass(frozen=True, slots=True)
class Commune:
    insee: str
    name: str
    kind: str  # commune | deleguee | associee | arrondissement
    parent: str | None  # INSEE code of the current commune (delegated, associated, arrondissement)
    departement: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float
    population: int | None  # None for delegated and associated communes

    @property
    def label(self) -> str:
        """What a citizen reads: "Saint-Lô (50)"; arrondissements keep their name."""
        if self.kind == "arrondissement":
            return self.name
        return f"{self.name} ({self.departement})"

    @property
    def current(self) -> bool:
        """A commune of today's map (or an arrondissement), not a delegated or associated one."""
        return self.kind in _CURRENT_KINDS


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved location."""

    label: str  # "Saint-Lô (50)", "50000 Saint-Lô", "Cherbourg-en-Cotentin (50)"
    lat: float
    lon: float
    insee: str | None
    postcode: str | None
    departement: str | None


@dataclass(frozen=True, slots=True)
class Resolution:
    status: Status
    place: Place | None = None  # when found
    candidates: tuple[Commune, ...] = ()  # when ambiguous: at most 8, most populated first
    reason: str = ""  # when unknown/invalid: empty, too_long, unknown_postcode, no_match, outside_france
    whole: bool = False  # the text is essentially only a place


# --------------------------------------------------------------------------------------------------
# Normalisation

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_ALNUM_OR_LINE = re.compile(r"[^a-z0-9\n]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ABBREVIATION = re.compile(r"\b(?:st|ste|sts|stes)\b")
_SPACES = re.compile(r" +")
_SPACES_AROUND_LINES = re.compile(r" ?\n ?")


def _ascii_lower(text: str) -> str:
    text = text.lower()
    if not text.isascii():
        text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss").replace("€", " euros ")
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return text


def normalise_name(text: str) -> str:
    """Lower case, accents removed, punctuation to spaces, "st" -> "saint", "ste" -> "sainte"."""
    tokens = _NON_ALNUM.sub(" ", _ascii_lower(text)).split()
    return " ".join(_ABBREVIATIONS.get(token, token) for token in tokens)


def _normalise_many(texts: list[str]) -> list[str]:
    """normalise_name() of many one-line texts at once (one pass over one big string: fast)."""
    text = _NON_ALNUM_OR_LINE.sub(" ", _ascii_lower("\n".join(texts)))
    text = _ABBREVIATION.sub(lambda found: _ABBREVIATIONS[found.group()], text)
    text = _SPACES_AROUND_LINES.sub("\n", _SPACES.sub(" ", text))
    return text.strip(" ").split("\n")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _without_article(tokens: Sequence[str]) -> str:
    """The words without their leading article: "la poste" -> "poste"."""
    if len(tokens) > 1 and tokens[0] in _ARTICLES:
        return " ".join(tokens[1:])
    return " ".join(tokens)


def _letters(tokens: Sequence[str]) -> int:
    return sum(len(token) for token in tokens if token.isalpha())


# --------------------------------------------------------------------------------------------------
# Words around a place

# Words that may come before the place in a message that is only a place ("je suis à Saint-Lô").
_LEADING_FILLERS = _words(
    """
    bonjour bonsoir salut coucou hello allo oui alors euh ben bah bon ok okay voila donc et moi
    je j jhabite suis chui habite habites habitons vis reside demeure me trouve nous on sommes est c
    ma mon notre ville commune code postal cp actuellement maintenant ici situe situee domicilie domiciliee
    a au aux sur vers dans de du d en pres cote autour alentours pas loin proche tout secteur region
    la le les l
    """
)
# Words that may come after it ("Saint-Lô merci", "50000 s'il vous plaît").
_TRAILING_FILLERS = _words("merci beaucoup svp stp s il vous te plait plais please france ok voila la ici")
_ARTICLES = _words("le la les l")

# A place in a sentence comes after one of these ("à", "près de", "j'habite", ...).
_TRIGGERS = _words("a au aux de du d sur vers dans habite habitons habites")
# "à", "au", "aux", "vers", "habite" are strong; "de" too after "près", "à côté", ...
_STRONG_TRIGGERS = _words("a au aux vers habite habitons habites")
_DE = _words("de d du")
_CONTRACTED_ARTICLES = {"au": "le", "du": "le", "aux": "les", "des": "les"}
_SAINTS = _words("saint sainte saints saintes")
_BEFORE_STRONG_DE = _words("pres cote proche autour alentours loin ville commune secteur")

# Common words, some of them commune names (Rue, Mars, Eu, Y, Bourg, Vue...) or close to one
# (mardi/Mardié): never a place inside a sentence, and no start for a fuzzy match.
_COMMON_WORDS = _words(
    """
    a ai as au aux de des du la le les l un une et ou y en sur sous dans par pour avec sans chez vers
    entre contre depuis pendant avant apres ici bas haut tres plus moins bien mal
    je tu il elle on nous vous ils elles me te se moi toi lui leur leurs mon ma mes ton ta tes son sa ses
    notre nos votre vos ce cet cette ces ca cela ceci qui que quoi quel quelle quels quelles dont
    oui non merci bonjour bonsoir salut svp stp ok
    lundi mardi mercredi jeudi vendredi samedi dimanche
    janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
    matin midi soir nuit jour jours semaine mois an ans annee heure heures minute temps demain hier
    un deux trois quatre cinq six sept huit neuf dix onze douze vingt cent mille
    rue route chemin place avenue boulevard allee impasse quai cours bourg ville village commune
    centre centres gare poste mairie bureau maison domicile port plage bois foret mont mer lac
    eu vu vue mis pu su bu fait faire dit pris mise prise
    aide aides atelier ateliers formation conseil conseiller conseillere rendez rdv
    compte comptes mot passe code ligne internet site application appli mail email courriel
    telephone portable ordinateur tablette imprimante carte cartes papier papiers dossier
    impot impots caf ameli cpam retraite emploi pole france travail banque sante securite sociale
    sfr free bouygues
    pin bar bal bec bon bonne bonnes beau belle grand grande petit petite gros grosse
    tour ay by eu ri py ur uz us sy ry bu oo
    marche marches charge change chapeau chateau cerise prince riche simple survie vert vif vieux
    pas peux fille mere faux pere reunion viens pre ecole argent lieu garde tombe touche appelle porte prix
    nouvelle bras force carnet cote bouge grave font source tourne terre chambre morte jeu parent allez pres
    dame marre vraie aucun jeux campagne machine aime noel salle bain fete cause marques fort bus pars barre
    coeur hommes avion mur quartier etais parce moyen vis fonds bord places rouge pont lit joue celle celles
    gars livre haute sache pied poids bout serre pleure jardin colle boulot cases job fleche pleine sort nan
    sers dun cheres saurais voisins bouillante hopital petites table bons lent signes premiers premieres tech
    teste publier grenier peage serez poisson poissons four longues louer chasse titre assis blanc blanche
    tache louches bosse conte vieil his creche sen quarante coin demi trait lue pays champ sequestre echelle
    passage ids may possession baffe gout lasse cesse jure gets espere plaisir ange allons caille boule haie
    faute lion rosiers chatte cheville eaux monte irai real til cour bourre ille somme maisons bouquet grands
    grace sure lies pointe allemagne long sourd case minot bats noyer lutter folie cotes baby nuits graves
    serpent armes suisse degre cagnotte thesee mal rien vie mort paix sol ciel eau feu air vent neige soleil
    lune val fontaine moulin ferme fermes montagne plaine vallee riviere champs roche roches loup chat ours
    personne personnes frais lance marie pierre bernard luc rene robert francois romain germaine suzanne toussaint
    """
)
# Regions and départements: "je suis en Normandie", "de la Manche" name no commune.
_REGION_WORDS = _words(
    """
    normandie bretagne alsace lorraine picardie provence auvergne bourgogne champagne aquitaine occitanie
    limousin poitou charentes franche comte centre languedoc roussillon midi pyrenees paca corse savoie
    ain aisne allier alpes ardeche ardennes ariege aube aude aveyron calvados cantal charente cher correze
    creuse dordogne doubs drome eure finistere gard garonne gers gironde herault indre isere jura landes
    loire loiret lot lozere manche marne mayenne meuse morbihan moselle nievre nord oise orne rhin rhone
    sarthe seine somme tarn var vaucluse vendee vosges yonne essonne yvelines guadeloupe martinique guyane
    reunion mayotte
    """
)
# Common words that are also the name of a sizeable town: a place only after a strong trigger
# ("à Tours", "j'habite Orange", "près de Sens"), never after "de" ("le service client d'Orange").
_TOWN_WORDS = _words("tours sens salon vienne orange vire")
_BRAND_WORDS = _words("orange")  # ... and not a place on its own
# Prefixes too vague to designate communes ("la", "saint").
_VAGUE = _words("la le les l saint sainte saints saintes sur en de du des d")
_NO_FUZZY_START = (_COMMON_WORDS | _TOWN_WORDS) - _ARTICLES

# A 5-digit number after these words is a reference, not a postcode...
_NUMBER_LABELS = _words(
    """
    commande colis dossier numero num no n nr allocataire fiscal fiscale reference ref code suivi client
    contrat facture compte identifiant id passe pin securite sociale siret siren telephone tel ticket
    transaction immatriculation badge carte avis declaration recu bordereau lettre courrier montant
    somme prix total solde dette credit pret rib iban bic
    """
)
# ... and before these words it is an amount or a quantity.
_NUMBER_UNITS = _words(
    """
    euros euro eur e dollars km kms kilometres metres m habitants personnes ans mois jours fois points
    pts kg g mo go octets pages caracteres mots minutes heures
    """
)

_POSTCODE = re.compile(r"\d{5}")
_WORD = re.compile(r"[^\W_]+")
# 33700 is Mérignac's postcode, but in a sentence it is the number to report spam text messages.
_NOT_POSTCODES = _words("33700")
_ARRONDISSEMENT = re.compile(
    r"(?:(paris|lyon|marseille) (\d{1,2}) ?(?:e|er|eme|ieme|em|me|ere|emes)?(?: arrondissement| arrdt| arr)?"
    r"|(\d{1,2}) ?(?:e|er|eme|ieme|em|me|ere)?(?: arrondissement| arrdt| arr)? (?:de |du )?(paris|lyon|marseille))"
)
_DEPARTEMENT = re.compile(r"0?[1-9]|[1-8]\d|9[0-5]|2a|2b|97[1-6]")


def _departement_code(token: str) -> str | None:
    if not _DEPARTEMENT.fullmatch(token):
        return None
    return token.upper() if token in ("2a", "2b") else token.zfill(2)


def _population(commune: Commune) -> int:
    return commune.population or 0


def _rank(commune: Commune) -> tuple[bool, int, str]:
    return (commune.kind not in _CURRENT_KINDS, -(commune.population or 0), commune.name)


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def _strong_before(tokens: Sequence[str], index: int) -> bool:
    """Whether the word at index comes right after "à", "vers", "j'habite", "près de"..."""
    if index < 1:
        return False
    before = tokens[index - 1]
    return before in _STRONG_TRIGGERS or (before in _DE and index >= 2 and tokens[index - 2] in _BEFORE_STRONG_DE)


@dataclass(frozen=True, slots=True)
class _Words:
    """The normalised words of a text, and which were written with a capital letter."""

    tokens: list[str]
    capitals: list[bool]  # all False in a text written in capitals

    @classmethod
    def of(cls, text: str) -> _Words:
        text = unicodedata.normalize("NFC", text).replace("€", " euros ")
        shouting = not any(character.islower() for character in text)
        tokens: list[str] = []
        capitals: list[bool] = []
        for word in _WORD.findall(text):
            capital = not shouting and word[0].isupper()
            for token in normalise_name(word).split():
                tokens.append(token)
                capitals.append(capital)
        return cls(tokens, capitals)

    def merge_spaced_postcodes(self) -> _Words:
        """["50", "000"] -> ["50000"]: a postcode typed with a space."""
        tokens: list[str] = []
        capitals: list[bool] = []
        index, count = 0, len(self.tokens)
        while index < count:
            token = self.tokens[index]
            if len(token) == 2 and token.isdigit() and index + 1 < count:
                following = self.tokens[index + 1]
                if len(following) == 3 and following.isdigit():
                    tokens.append(token + following)
                    capitals.append(False)
                    index += 2
                    continue
            tokens.append(token)
            capitals.append(self.capitals[index])
            index += 1
        return _Words(tokens, capitals)

    def clues(self, start: int, end: int, strong: bool) -> _Clues:
        """How the words start:end were written (the first word of the text has its capital anyway)."""
        capital = any(self.capitals[max(start, 1) : end])
        article = _CONTRACTED_ARTICLES.get(self.tokens[start - 1]) if start else None
        return _Clues(True, strong, capital, article)


@dataclass(frozen=True, slots=True)
class _Clues:
    """How some words were written, to tell a commune from ordinary words in a sentence."""

    strict: bool  # ordinary words must not match (find_in_sentence); False for resolve()
    strong: bool = True  # right after "à", "vers", "j'habite", "près de"... (or alone)
    capital: bool = False  # written with a capital letter
    article: str | None = None  # the article in the word before: "le" in "au" and "du", "les" in "aux"


_LENIENT = _Clues(strict=False)


@dataclass(frozen=True, slots=True)
class _Match:
    """Communes that some words of a text designate."""

    communes: tuple[Commune, ...]
    quality: int  # 4 postcode, 3 exact name, 2 start of a name, 1 fuzzy
    postcode: str | None = None


_EMPTY = Resolution("invalid", reason="empty")
_TOO_LONG = Resolution("invalid", reason="too_long")
_NO_MATCH = Resolution("unknown", reason="no_match")
_OUTSIDE = Resolution("invalid", reason="outside_france")

_GRID = 16  # cells per degree for locate(): rings of cells are searched nearest first
_MAX_FILLERS = 8  # filler words around a place in a message that is only a place
_FUZZY_CUTOFF = 85.0  # a text meant to be a place ("sainr lo")
_FUZZY_CUTOFF_SHORT = 88.0  # ... of fewer than 7 characters
_FUZZY_CUTOFF_SENTENCE = 90.0  # a name after a preposition in a sentence
_FUZZY_CLOSE = 3.0  # two fuzzy matches this close are equally likely
_FUZZY_SURE = 93.0  # a fuzzy match in lower case in a message that is only a place: one typo in a long name
_TOWN = 10_000  # inhabitants: "à cherbourg" in lower case is still Cherbourg-en-Cotentin
_BIG_TOWN = 20_000  # "la rochelle" in lower case is La Rochelle, "la machine" is not La Machine


class CommuneIndex:
    """All the communes, with the lookups that resolve() and friends need."""

    def __init__(self, communes: Iterable[Commune]) -> None:
        self._all: list[Commune] = list(communes)
        self._current: dict[str, Commune] = {}  # INSEE code -> current commune or arrondissement
        self._any: dict[str, Commune] = {}  # INSEE code -> commune, the current one first
        self._postcodes: dict[str, list[Commune]] = {}  # sorted by _rank on first use
        self._sorted_postcodes: set[str] = set()
        self._names: dict[str, list[Commune]] = {}  # normalised name -> communes
        self._aliases: dict[str, list[Commune]] = {}  # name without its article ("havre") -> communes
        self._normalised: dict[str, str] = {}  # name -> normalised name
        self._arrondissements: dict[tuple[str, int], Commune] = {}  # ("paris", 11) -> commune
        self._name_keys: list[str] = []  # sorted names, to find those that start with some words
        self._alias_keys: list[str] = []
        self._grid: dict[tuple[int, int], list[Commune]] | None = None  # built on first locate()
        # (first letter or None, length) -> names and first words of names; built on the first fuzzy match
        self._fuzzy_keys: dict[tuple[str | None, int], list[str]] | None = None
        self._build()

    def _build(self) -> None:
        every, postcodes, names = self._all, self._postcodes, self._names
        self._current.update({commune.insee: commune for commune in every if commune.kind in _CURRENT_KINDS})
        # A code shared by a new commune and a delegated one is the new commune's.
        self._any.update({commune.insee: commune for commune in reversed(every) if commune.kind in _DELEGATED_KINDS})
        self._any.update(self._current)
        cities = _CITIES_WITH_ARRONDISSEMENTS
        for commune in every:
            if commune.postcodes and (commune.kind != "commune" or commune.insee not in cities):
                for postcode in commune.postcodes:  # Paris's postcodes are its arrondissements'
                    if postcode in postcodes:
                        postcodes[postcode].append(commune)
                    else:
                        postcodes[postcode] = [commune]
        unique_names = list(dict.fromkeys([commune.name for commune in every]))
        self._normalised.update(zip(unique_names, _normalise_many(unique_names), strict=True))
        normalised = self._normalised
        for commune in every:
            name = normalised[commune.name]
            if name in names:
                names[name].append(commune)
            else:
                names[name] = [commune]
        self._name_keys = sorted(names)
        for name in self._name_keys:
            article, _, rest = name.partition(" ")
            if rest and article in _ARTICLES:
                self._aliases.setdefault(rest, []).extend(names[name])
        self._alias_keys = sorted(self._aliases)
        for commune in self._current.values():
            if commune.kind == "arrondissement":  # "Paris 11e Arrondissement" -> ("paris", 11)
                city, _, rest = normalised[commune.name].partition(" ")
                number = re.sub(r"\D", "", rest.split(" ", 1)[0])
                if number:
                    self._arrondissements[(city, int(number))] = commune

    # ----------------------------------------------------------------------------------------------
    # Loading

    @classmethod
    def load(cls, path: Path = DATA_PATH) -> CommuneIndex:
        """Read a communes file with the columns of knowledge/data/communes.csv."""
        text = path.read_text(encoding="utf-8")
        if '"' in text:
            rows = [row for row in csv.reader(io.StringIO(text)) if row]
        else:  # no quoting: a plain split is much faster than the csv module
            rows = [line.split(",") for line in text.splitlines() if line]
        if not rows or rows[0] != _COLUMNS:
            raise ValueError(f"unexpected header in {path}: {rows[0] if rows else None}")
        # Tens of thousands of objects and no cycle: the cyclic garbage collector would only slow this down.
        collecting = gc.isenabled()
        gc.disable()
        try:
            shared: dict[str, tuple[str, ...]] = {}  # one tuple per distinct list of postcodes
            communes = [
                Commune(
                    insee,
                    name,
                    kind,
                    parent or None,
                    departement,
                    shared.get(postcodes) or shared.setdefault(postcodes, tuple(postcodes.split())),
                    float(lat),
                    float(lon),
                    int(population) if population else None,
                )
                for insee, name, kind, parent, departement, postcodes, lat, lon, population in rows[1:]
            ]
            communes.extend(_cities_with_arrondissements(communes))
            return cls(communes)
        finally:
            if collecting:
                gc.enable()

    # ----------------------------------------------------------------------------------------------
    # Lookups

    def __len__(self) -> int:
        return len(self._all)

    def by_insee(self, insee: str) -> Commune | None:
        """The commune with this INSEE code (the current one when a delegated commune shares it)."""
        return self._any.get(insee.strip().upper())

    def by_postcode(self, postcode: str) -> list[Commune]:
        """The communes of a postcode, current communes first, most populated first."""
        return list(self._postcode_communes(re.sub(r"\s", "", postcode)))

    def _postcode_communes(self, postcode: str) -> list[Commune]:
        communes = self._postcodes.get(postcode)
        if communes is None:
            return []
        if postcode not in self._sorted_postcodes:
            # A new sorted list, not an in-place sort that another thread could see half done.
            communes = self._postcodes[postcode] = sorted(communes, key=_rank)
            self._sorted_postcodes.add(postcode)
        return communes

    def _prefixed(self, key: str, limit: int | None = None) -> list[Commune] | None:
        """The communes whose name starts with these words; None when more than `limit` names do."""
        found: list[Commune] = []
        for keys, table in ((self._name_keys, self._names), (self._alias_keys, self._aliases)):
            low, high = bisect_left(keys, key + " "), bisect_left(keys, key + "!")
            if limit is not None and high - low > limit:
                return None
            for name in keys[low:high]:
                found.extend(table[name])
        return found

    def _target(self, commune: Commune) -> Commune:
        """The current commune a delegated or associated commune belongs to (else itself)."""
        if commune.kind in _DELEGATED_KINDS and commune.parent:
            return self._current.get(commune.parent, commune)
        return commune

    def _place(self, commune: Commune, postcode: str | None = None) -> Place:
        target = self._target(commune)
        label = f"{postcode} {target.name}" if postcode else target.label
        if postcode is None:
            own = commune.postcodes if len(commune.postcodes) == 1 else target.postcodes
            postcode = own[0] if len(own) == 1 else None
        return Place(label, commune.lat, commune.lon, target.insee, postcode, target.departement)

    def _groups(self, communes: Iterable[Commune]) -> list[Commune]:
        """One commune per current commune (the current commune itself when it is there), ranked."""
        groups: dict[str, Commune] = {}
        for commune in communes:
            key = self._target(commune).insee
            if key not in groups or (commune.current and not groups[key].current):
                groups[key] = commune
        return sorted(groups.values(), key=_rank)

    def _outcome(self, match: _Match, whole: bool) -> Resolution:
        groups = self._groups(match.communes)
        if len(groups) == 1:
            return Resolution("found", place=self._place(groups[0], match.postcode), whole=whole)
        return Resolution("ambiguous", candidates=tuple(groups[:MAX_CANDIDATES]), whole=whole)

    # ----------------------------------------------------------------------------------------------
    # Public resolution

    def resolve(self, text: str) -> Resolution:
        """Resolve a text meant to be a place: a postcode, a commune name, or both."""
        if not isinstance(text, str) or not text.strip():
            return _EMPTY
        if len(text) > MAX_TEXT_LENGTH:
            return _TOO_LONG
        words = _Words.of(text)
        if not words.tokens:
            return _NO_MATCH
        whole = self._whole(words.merge_spaced_postcodes(), strict=False)
        if whole is not None:
            return whole
        found = self._scan(words)
        return found if found is not None else _NO_MATCH

    def find_in_sentence(self, text: str) -> Resolution | None:
        """A place mentioned in a message ("des ateliers à Saint-Lô ?"), or None."""
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SENTENCE_LENGTH:
            return None
        words = _Words.of(text)
        if not words.tokens:
            return None
        if len(text) <= MAX_TEXT_LENGTH:
            whole = self._whole(words.merge_spaced_postcodes(), strict=True)
            if whole is not None:
                return whole
        return self._scan(words)

    def locate(self, lat: float, lon: float) -> Resolution:
        """The commune whose centre is nearest to a GPS point in France."""
        try:
            lat, lon = float(lat), float(lon)
        except (TypeError, ValueError, OverflowError):
            return _OUTSIDE
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            return _OUTSIDE
        grid = self._locate_grid()
        row, column = math.floor(lat * _GRID), math.floor(lon * _GRID)
        cos_lat = max(math.cos(math.radians(lat)), 0.05)
        rings = math.ceil(OUTSIDE_FRANCE_KM / (111.0 * cos_lat) * _GRID)
        best: Commune | None = None
        best_score = math.inf
        for ring in range(min(rings, 40) + 1):
            # Cells at Chebyshev distance `ring` around the point's cell, nearest rings first.
            for r in range(row - ring, row + ring + 1):
                step = 1 if r in (row - ring, row + ring) else 2 * ring or 1
                for c in range(column - ring, column + ring + 1, step):
                    for commune in grid.get((r, c), ()):
                        dlat, dlon = commune.lat - lat, (commune.lon - lon) * cos_lat
                        score = dlat * dlat + dlon * dlon
                        if score < best_score:
                            best, best_score = commune, score
            # Any commune in a farther ring is at least `ring` whole cells away (in scaled degrees).
            bound = ring * min(1.0, cos_lat) / _GRID
            if best is not None and best_score <= bound * bound:
                break
        if best is None or _distance_km(lat, lon, best.lat, best.lon) > OUTSIDE_FRANCE_KM:
            return _OUTSIDE
        place = self._place(best)
        return Resolution("found", place=Place(best.label, lat, lon, place.insee, place.postcode, place.departement))

    def all_current(self) -> list[Commune]:
        """Every current commune and arrondissement."""
        return list(self._current.values())

    def _locate_grid(self) -> dict[tuple[int, int], list[Commune]]:
        if self._grid is None:
            grid: dict[tuple[int, int], list[Commune]] = {}
            for commune in self._current.values():
                if commune.kind == "commune" and commune.insee in _CITIES_WITH_ARRONDISSEMENTS:
                    continue  # its arrondissements are there
                cell = (math.floor(commune.lat * _GRID), math.floor(commune.lon * _GRID))
                grid.setdefault(cell, []).append(commune)
            self._grid = grid
        return self._grid

    def choose(self, insee: str) -> Resolution:
        """The place for a commune picked among the candidates of an ambiguity."""
        commune = self.by_insee(insee) if isinstance(insee, str) else None
        if commune is None:
            return _NO_MATCH
        return Resolution("found", place=self._place(commune))

    # ----------------------------------------------------------------------------------------------
    # A text that is only a place

    def _whole(self, words: _Words, strict: bool) -> Resolution | None:
        """The place when the words are a place with a few filler words around, else None."""
        tokens = words.tokens
        count = len(tokens)
        first = 0
        while first < count and tokens[first] in _LEADING_FILLERS:
            first += 1
        last = count
        while last > first and tokens[last - 1] in _TRAILING_FILLERS:
            last -= 1
        for start in range(min(first, count - 1, _MAX_FILLERS) + 1):
            # "Tours" alone is a place, "Orange" alone may be the telephone operator.
            strong = _strong_before(tokens, start) if start else tokens[0] not in _BRAND_WORDS
            for end in range(count, max(last, start + 1, count - _MAX_FILLERS) - 1, -1):
                clues = words.clues(start, end, strong) if strict else _LENIENT
                resolution = self._exact_place(tokens[start:end], clues)
                if resolution is not None:
                    return resolution
        if first >= last:
            return None
        starts = [first - 1, first] if first > 0 and tokens[first - 1] in _ARTICLES else [first]
        best: tuple[float, _Match] | None = None
        for start in starts:
            clues = words.clues(start, last, strong=True) if strict else _LENIENT
            scored = self._fuzzy(tokens[start:last], clues, sentence=False)
            if scored is not None and (best is None or scored[0] > best[0]):
                best = scored
        return self._outcome(best[1], whole=True) if best is not None else None

    def _exact_place(self, tokens: list[str], clues: _Clues) -> Resolution | None:
        """Tokens that are exactly a postcode and/or a name (no fuzzy matching of the name)."""
        postcodes = [index for index, token in enumerate(tokens) if _POSTCODE.fullmatch(token)]
        if len(postcodes) > 1:
            return None
        if not postcodes:
            match = self._name_with_departement(tokens, clues)
            return self._outcome(match, whole=True) if match is not None else None
        index = postcodes[0]
        postcode, rest = tokens[index], tokens[:index] + tokens[index + 1 :]
        communes = self._postcode_communes(postcode)
        if not communes:
            if not rest:
                return Resolution("invalid", reason="unknown_postcode", whole=True)
            match = self._name_with_departement(rest, clues)
            return self._outcome(match, whole=True) if match is not None else None
        if not rest:
            return self._outcome(_Match((communes[0],), 4, postcode), whole=True)
        within = self._within_postcode(rest, communes)
        if within is not None:
            return self._outcome(_Match((within,), 4, postcode), whole=True)
        match = self._name_with_departement(rest, clues)
        if match is None:
            return None
        # The name and the postcode disagree: let the citizen choose.
        return self._outcome(_Match((communes[0], *match.communes), 1), whole=True)

    def _name_with_departement(self, tokens: list[str], clues: _Clues) -> _Match | None:
        arrondissement = self._arrondissement(tokens)
        if arrondissement is not None:
            return _Match((arrondissement,), 3)
        if len(tokens) >= 2:
            for departement, name in ((tokens[-1], tokens[:-1]), (tokens[0], tokens[1:])):
                code = _departement_code(departement)
                if code is not None:
                    match = self._name(name, clues, code)
                    if match is not None:
                        return match
        return self._name(tokens, clues)

    def _arrondissement(self, tokens: Sequence[str]) -> Commune | None:
        if len(tokens) < 2 or len(tokens) > 5:
            return None
        found = _ARRONDISSEMENT.fullmatch(" ".join(tokens))
        if found is None:
            return None
        city = found.group(1) or found.group(4)
        number = int(found.group(2) or found.group(3))
        return self._arrondissements.get((city, number))

    def _biggest(self, communes: Iterable[Commune]) -> int:
        return max((_population(self._target(commune)) for commune in communes), default=0)

    def _name(self, tokens: Sequence[str], clues: _Clues, departement: str | None = None) -> _Match | None:
        """Communes whose name is the tokens (or starts with them), without fuzzy matching."""
        if not tokens:
            return None
        key = " ".join(tokens)
        if clues.strict:
            word = _without_article(tokens)
            if len(tokens) == 1 and (len(key) < 3 or key in _VAGUE):
                return None
            if word in _COMMON_WORDS or word in _REGION_WORDS:
                return None  # "la rue", "à la Poste", "en Normandie"
            if word in _TOWN_WORDS and not clues.strong:
                return None
        exact: Sequence[Commune] = self._names.get(key) or ()
        # "la réunion", "la machine": a place when written "La Réunion", or a big town ("la rochelle").
        if exact and clues.strict and tokens[0] in _ARTICLES and not clues.capital and self._biggest(exact) < _BIG_TOWN:
            return None
        if not exact and key in self._aliases:
            # "havre" for Le Havre: in a sentence, after "au"/"du" ("au Havre") or with a capital.
            exact = self._aliases[key]
            if clues.strict and not clues.capital:
                article = clues.article
                if article is None or not any(self._normalised[c.name].startswith(article + " ") for c in exact):
                    return None
        vague = all(token in _VAGUE for token in tokens)
        prefixed = [] if vague else self._prefixed(key, limit=60 if clues.strict and not exact else None)
        if prefixed is None:
            return None
        if departement is not None:
            exact = [commune for commune in exact if self._target(commune).departement == departement]
            prefixed = [commune for commune in prefixed if self._target(commune).departement == departement]
        if exact:
            if departement is None:
                # "Clermont" names communes, but the citizen may well mean Clermont-Ferrand.
                biggest = self._biggest(exact)
                bigger = [commune for commune in prefixed if commune.current and _population(commune) > biggest]
                if bigger:
                    return _Match((*exact, *bigger), 3)
            return _Match(tuple(exact), 3)
        if not prefixed:
            return None
        if clues.strict:
            # "à Cherbourg" is Cherbourg-en-Cotentin, "d'argent" is not Argent-sur-Sauldre.
            if _letters(tokens) < 5 or len(self._groups(prefixed)) > MAX_CANDIDATES:
                return None
            if not clues.capital and not (clues.strong and self._biggest(prefixed) >= _TOWN):
                return None
        elif _letters(tokens) < 4:
            return None
        return _Match(tuple(prefixed), 2)

    def _within_postcode(self, tokens: list[str], communes: list[Commune]) -> Commune | None:
        """The commune of a postcode that the name tokens designate, if any."""
        key = " ".join(tokens)
        may_start = _letters(tokens) >= 4 and not set(tokens) <= _VAGUE
        best: tuple[float, Commune] | None = None
        for commune in communes:
            name = self._normalised[commune.name]
            article, _, rest = name.partition(" ")
            for candidate in (name, rest) if rest and article in _ARTICLES else (name,):
                if candidate == key:
                    score = 200.0
                elif may_start and candidate.startswith(key + " "):
                    score = 150.0
                else:
                    score = fuzz.ratio(key, candidate, score_cutoff=80)
                if score and (best is None or score > best[0]):
                    best = (score, commune)
        if best is not None:
            return best[1]
        arrondissement = self._arrondissement(tokens)
        return arrondissement if arrondissement in communes else None

    # ----------------------------------------------------------------------------------------------
    # Fuzzy matching

    def _fuzzy_choices(self, first_letter: str | None, length: int, cutoff: float) -> list[str]:
        """The names (and first words of names) long enough and short enough to reach the cutoff."""
        if self._fuzzy_keys is None:
            keys = set(self._names) | set(self._aliases)
            for name in list(keys):
                tokens = name.split(" ")
                for size in range(1, len(tokens)):
                    keys.add(" ".join(tokens[:size]))
            buckets: dict[tuple[str | None, int], list[str]] = {}
            for key in sorted(key for key in keys if key):
                buckets.setdefault((None, len(key)), []).append(key)
                buckets.setdefault((key[0], len(key)), []).append(key)
            self._fuzzy_keys = buckets
        # ratio = 2 * common / (length + other) <= 2 * min(length, other) / (length + other)
        ratio = cutoff / 100
        shortest, longest = math.ceil(length * ratio / (2 - ratio)), math.floor(length * (2 - ratio) / ratio)
        choices: list[str] = []
        for size in range(shortest, longest + 1):
            choices.extend(self._fuzzy_keys.get((first_letter, size), ()))
        return choices

    def _key_communes(self, key: str) -> list[Commune]:
        """The communes a fuzzy key designates: its name, else the names it starts (8 at most)."""
        exact = self._names.get(key) or self._aliases.get(key)
        if exact:
            return exact
        if all(token in _VAGUE for token in key.split(" ")):
            return []
        prefixed = self._prefixed(key, limit=60) or []
        return prefixed if len(self._groups(prefixed)) <= MAX_CANDIDATES else []

    def _fuzzy(self, tokens: Sequence[str], clues: _Clues, sentence: bool) -> tuple[float, _Match] | None:
        """Communes whose name is close to the tokens (typos), with the best score."""
        if not tokens:
            return None
        key = " ".join(tokens)
        letters = _letters(tokens)
        if _without_article(tokens) in _REGION_WORDS:
            return None  # "Manche" is a département, not a typo for Maché
        if clues.strict:
            if letters < 5 or not clues.strong or tokens[0] in _NO_FUZZY_START:
                return None
            if len(tokens) == 1 and key in _VAGUE:
                return None
            if _without_article(tokens) in _NO_FUZZY_START:
                return None
            if not clues.capital and (tokens[0] in _ARTICLES or (sentence and tokens[0] not in _SAINTS)):
                return None  # "au calme" is not Came, "à la ferme" is not La Fère, "à travers" is not Tavers
        elif letters < 4 or len(key) > 60:
            return None
        cutoff = _FUZZY_CUTOFF if len(key) >= 7 else _FUZZY_CUTOFF_SHORT
        if sentence:
            cutoff = _FUZZY_CUTOFF_SENTENCE
        choices = self._fuzzy_choices(key[0] if clues.strict else None, len(key), cutoff)
        hits = process.extract(key, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=15)
        best_score = 0.0
        matched: list[Commune] = []
        first_group: str | None = None
        for choice, score, _ in hits:
            if clues.strict and choice == key:
                continue  # the name itself: _name() has said no
            communes = self._key_communes(choice)
            if not communes:
                continue
            groups = self._groups(communes)
            if not matched:
                best_score, first_group = score, self._target(groups[0]).insee
            elif score < best_score - _FUZZY_CLOSE:
                break
            elif len(groups) == 1 and self._target(groups[0]).insee == first_group:
                continue
            matched.extend(communes)
        if not matched:
            return None
        if clues.strict and not clues.capital and best_score < _FUZZY_SURE and tokens[0] not in _SAINTS:
            return None  # "les étapes" alone is not Étampes
        return best_score, _Match(tuple(matched), 1)

    # ----------------------------------------------------------------------------------------------
    # A place inside a sentence

    def _scan(self, words: _Words) -> Resolution | None:
        tokens = words.tokens
        found = self._scan_postcodes(tokens)
        if found is not None:
            return self._outcome(found, whole=False)
        best: _Match | None = None
        count = len(tokens)
        for index, token in enumerate(tokens):
            if token not in _TRIGGERS or index + 1 >= count:
                continue
            match = self._after_trigger(words, index + 1, _strong_before(tokens, index + 1))
            if match is not None and (best is None or match.quality > best.quality):
                best = match
                if best.quality >= 3:
                    break
        return self._outcome(best, whole=False) if best is not None else None

    def _after_trigger(self, words: _Words, start: int, strong: bool) -> _Match | None:
        """The commune named right after a preposition, if any."""
        tokens = words.tokens
        longest = min(8, len(tokens) - start)
        for quality in (3, 2):
            for size in range(longest, 0, -1):
                span = tokens[start : start + size]
                if quality == 3:
                    arrondissement = self._arrondissement(span)
                    if arrondissement is not None:
                        return _Match((arrondissement,), 3)
                match = self._name(span, words.clues(start, start + size, strong))
                if match is None or match.quality != quality:
                    continue
                return self._with_departement(match, tokens, start + size)
        best: tuple[float, int, _Match] | None = None
        for size in range(1, min(4, longest) + 1):
            clues = words.clues(start, start + size, strong)
            scored = self._fuzzy(tokens[start : start + size], clues, sentence=True)
            if scored is not None and (best is None or scored[0] > best[0]):
                best = (scored[0], size, scored[1])
        return self._with_departement(best[2], tokens, start + best[1]) if best is not None else None

    def _with_departement(self, match: _Match, tokens: list[str], after: int) -> _Match:
        """Narrow a match with a département number right after it ("Saint-Pierre (974)")."""
        if after < len(tokens):
            code = _departement_code(tokens[after])
            if code is not None:
                narrowed = tuple(c for c in match.communes if self._target(c).departement == code)
                if narrowed:
                    return _Match(narrowed, match.quality, match.postcode)
        return match

    def _scan_postcodes(self, tokens: list[str]) -> _Match | None:
        """A postcode in a sentence, not a reference number or an amount."""
        count = len(tokens)
        for index, token in enumerate(tokens):
            size = 1
            if _POSTCODE.fullmatch(token):
                postcode = token
                neighbours = tokens[index - 1 : index] + tokens[index + 1 : index + 2]
                if any(neighbour.isdigit() for neighbour in neighbours):
                    continue  # part of a longer number
            elif (
                len(token) == 2
                and token.isdigit()
                and 0 < index < count - 1
                and tokens[index - 1] in _TRIGGERS
                and len(tokens[index + 1]) == 3
                and tokens[index + 1].isdigit()
                and not (index + 2 < count and tokens[index + 2].isdigit())
            ):
                postcode, size = token + tokens[index + 1], 2  # "près de 50 000"
            else:
                continue
            communes = self._postcode_communes(postcode)
            if not communes or postcode in _NOT_POSTCODES:
                continue
            labels = tokens[max(0, index - 3) : index]
            if "postal" not in labels and any(word in _NUMBER_LABELS for word in labels):
                continue  # "numéro de dossier 50000", but "code postal 50000"
            if index + size < count and tokens[index + size] in _NUMBER_UNITS:
                continue
            chosen = communes[0]
            for before in range(min(6, index), 0, -1):
                within = self._within_postcode(tokens[index - before : index], communes)
                if within is not None:
                    chosen = within
                    break
            else:
                for after in range(min(6, count - index - size), 0, -1):
                    within = self._within_postcode(tokens[index + size : index + size + after], communes)
                    if within is not None:
                        chosen = within
                        break
            return _Match((chosen,), 4, postcode)
        return None


def _cities_with_arrondissements(communes: list[Commune]) -> list[Commune]:
    """Paris, Lyon and Marseille as communes, made from their arrondissements when the data lacks them."""
    present = {commune.insee for commune in communes if commune.kind == "commune"}
    arrondissements = [commune for commune in communes if commune.kind == "arrondissement"]
    made: list[Commune] = []
    for insee, name in _CITIES_WITH_ARRONDISSEMENTS.items():
        parts = [part for part in arrondissements if part.parent == insee]
        if insee in present or not parts:
            continue
        made.append(
            Commune(
                insee=insee,
                name=name,
                kind="commune",
                parent=None,
                departement=parts[0].departement,
                postcodes=tuple(sorted({postcode for part in parts for postcode in part.postcodes})),
                lat=round(sum(part.lat for part in parts) / len(parts), 5),
                lon=round(sum(part.lon for part in parts) / len(parts), 5),
                population=sum(_population(part) for part in parts),
            )
        )
    return made


@lru_cache(maxsize=1)
def communes() -> CommuneIndex:
    """The index of the shipped data, loaded once."""
    return CommuneIndex.load()
