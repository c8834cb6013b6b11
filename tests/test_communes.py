"""Places from what a citizen types: postcodes, commune names written any way, sentences, GPS points."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from knowledge.places.communes import (
    DATA_PATH,
    MAX_CANDIDATES,
    Commune,
    CommuneIndex,
    Resolution,
    communes,
    normalise_name,
)


@pytest.fixture(scope="module")
def index() -> CommuneIndex:
    return communes()


def found(resolution: Resolution | None) -> str:
    """The label of a found place (fails the test otherwise)."""
    assert resolution is not None, "no place found"
    assert resolution.status == "found", resolution
    assert resolution.place is not None
    return resolution.place.label


def insee_of(resolution: Resolution | None) -> str | None:
    assert resolution is not None and resolution.status == "found", resolution
    assert resolution.place is not None
    return resolution.place.insee


# --------------------------------------------------------------------------------------------------
# Loading


def test_the_index_is_loaded_once_and_quickly() -> None:
    started = time.perf_counter()
    fresh = CommuneIndex.load()
    elapsed = time.perf_counter() - started
    assert len(fresh) >= 37_457
    # About 0.3 s on a developer machine; the bound leaves room for a busy CI machine.
    assert elapsed < 2.0
    assert communes() is communes()


def test_load_reads_another_file_and_refuses_a_wrong_header(tmp_path: Path) -> None:
    path = tmp_path / "communes.csv"
    path.write_text(
        "insee,name,kind,parent,departement,postcodes,lat,lon,population\n"
        "50502,Saint-Lô,commune,,50,50000,49.10996,-1.07756,19471\n"
        '50129,"Cherbourg-en-Cotentin",commune,,50,50100 50130,49.63341,-1.63390,78258\n'
        "50129,Cherbourg-Octeville,deleguee,50129,50,50100 50130,49.63341,-1.63390,\n",
        encoding="utf-8",
    )
    small = CommuneIndex.load(path)
    assert len(small) == 3
    assert found(small.resolve("st lo")) == "Saint-Lô (50)"
    assert found(small.resolve("cherbourg octeville")) == "Cherbourg-en-Cotentin (50)"
    assert found(small.resolve("50130")) == "50130 Cherbourg-en-Cotentin"
    path.write_text("code,nom\n50502,Saint-Lô\n", encoding="utf-8")
    with pytest.raises(ValueError):
        CommuneIndex.load(path)


def test_paris_lyon_and_marseille_are_communes_made_of_their_arrondissements(index: CommuneIndex) -> None:
    paris = index.by_insee("75056")
    assert paris is not None and paris.name == "Paris" and paris.kind == "commune" and paris.departement == "75"
    arrondissements = [index.by_insee(f"751{number:02d}") for number in range(1, 21)]
    assert all(a is not None and a.parent == "75056" for a in arrondissements)
    assert paris.population == sum(a.population or 0 for a in arrondissements if a is not None)
    assert abs(paris.lat - 48.86) < 0.02 and abs(paris.lon - 2.34) < 0.03
    assert index.by_insee("69123") is not None and index.by_insee("13055") is not None


def test_labels_show_the_departement_except_for_arrondissements(index: CommuneIndex) -> None:
    saint_lo = index.by_insee("50502")
    assert saint_lo is not None and saint_lo.label == "Saint-Lô (50)"
    eleventh = index.by_insee("75111")
    assert eleventh is not None and eleventh.label == "Paris 11e Arrondissement"


def test_by_insee_and_by_postcode(index: CommuneIndex) -> None:
    ajaccio = index.by_insee("2a004")
    assert ajaccio is not None and ajaccio.name == "Ajaccio" and ajaccio.departement == "2A"
    # A delegated commune sharing its code with the new commune: the new commune.
    cherbourg = index.by_insee("50129")
    assert cherbourg is not None and cherbourg.name == "Cherbourg-en-Cotentin"
    assert index.by_insee("99999") is None
    postcode = index.by_postcode("50 000")
    assert postcode[0].name == "Saint-Lô"
    populations = [commune.population or 0 for commune in postcode]
    assert populations == sorted(populations, reverse=True)
    kinds = [commune.kind for commune in index.by_postcode("50100")]
    assert kinds[0] == "commune" and "deleguee" in kinds
    assert index.by_postcode("99999") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ST-LÔ", "saint lo"),
        ("Sainte-Mère-Église", "sainte mere eglise"),
        ("  L'Haÿ-les-Roses ", "l hay les roses"),
        ("Œuilly", "oeuilly"),
        ("Ste Foy", "sainte foy"),
        ("Saint-Lô, 50000 !", "saint lo 50000"),
        ("Castelnau-d'Estrétefonds", "castelnau d estretefonds"),
    ],
)
def test_normalise_name(text: str, expected: str) -> None:
    assert normalise_name(text) == expected


# --------------------------------------------------------------------------------------------------
# Postcodes


def test_a_postcode_is_the_place_of_its_commune(index: CommuneIndex) -> None:
    resolution = index.resolve("50000")
    assert found(resolution) == "50000 Saint-Lô"
    assert resolution.whole
    place = resolution.place
    assert place is not None and place.insee == "50502" and place.postcode == "50000" and place.departement == "50"
    saint_lo = index.by_insee("50502")
    assert saint_lo is not None and (place.lat, place.lon) == (saint_lo.lat, saint_lo.lon)
    assert found(index.resolve("50 000")) == "50000 Saint-Lô"


def test_a_postcode_of_several_communes_picks_the_most_populated(index: CommuneIndex) -> None:
    assert len(index.by_postcode("50000")) > 1
    assert found(index.resolve("50000")) == "50000 Saint-Lô"
    assert found(index.resolve("42000")) == "42000 Saint-Étienne"


@pytest.mark.parametrize("text", ["99999", "00000", "75999"])
def test_an_unknown_postcode_is_invalid(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert (resolution.status, resolution.reason) == ("invalid", "unknown_postcode")


@pytest.mark.parametrize(
    ("text", "label", "departement"),
    [
        ("20000", "20000 Ajaccio", "2A"),
        ("20200", "20200 Bastia", "2B"),
        ("97410", "97410 Saint-Pierre", "974"),
        ("97400", "97400 Saint-Denis", "974"),
        ("97200", "97200 Fort-de-France", "972"),
        ("97100", "97100 Basse-Terre", "971"),
        ("97300", "97300 Cayenne", "973"),
        ("97600", "97600 Mamoudzou", "976"),
    ],
)
def test_corsica_and_overseas_postcodes(index: CommuneIndex, text: str, label: str, departement: str) -> None:
    resolution = index.resolve(text)
    assert found(resolution) == label
    assert resolution.place is not None and resolution.place.departement == departement


# --------------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    "text", ["Saint-Lô", "saint lo", "St Lo", "ST-LÔ", "saint-lo", "St-Lô", "SAINT LO", "Saint Lô !", "saint-lô."]
)
def test_a_name_written_any_way(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert found(resolution) == "Saint-Lô (50)"
    assert resolution.place is not None and resolution.place.insee == "50502"
    assert resolution.place.postcode == "50000"
    assert resolution.whole


@pytest.mark.parametrize("text", ["saint-lo 50000", "50000 saint lo", "St-Lô 50000", "Saint-Lô (50000)"])
def test_a_name_with_its_postcode(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert found(resolution) == "50000 Saint-Lô"
    assert resolution.whole


def test_a_postcode_chooses_among_communes_of_the_same_name(index: CommuneIndex) -> None:
    resolution = index.resolve("saint pierre 15350")
    assert "Saint-Pierre" in found(resolution)
    assert resolution.place is not None and resolution.place.departement == "15" and resolution.place.insee == "15206"
    assert insee_of(index.resolve("15350 Saint-Pierre")) == "15206"


def test_a_postcode_that_contradicts_the_name_asks(index: CommuneIndex) -> None:
    resolution = index.resolve("saint lo 75011")
    assert resolution.status == "ambiguous"
    assert {c.insee for c in resolution.candidates} == {"50502", "75111"}


@pytest.mark.parametrize(("text", "insee"), [("saint pierre 974", "97416"), ("saint-pierre (15)", "15206")])
def test_a_departement_number_chooses_among_communes_of_the_same_name(
    index: CommuneIndex, text: str, insee: str
) -> None:
    resolution = index.resolve(text)
    assert insee_of(resolution) == insee
    assert resolution.whole


@pytest.mark.parametrize("text", ["cherbourg", "Cherbourg", "Cherbourg-en-Cotentin", "Cherbourg-Octeville", "50100"])
def test_cherbourg_is_cherbourg_en_cotentin(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert "Cherbourg-en-Cotentin" in found(resolution)
    assert insee_of(resolution) == "50129"


def test_a_delegated_commune_alone_is_its_new_commune(index: CommuneIndex) -> None:
    # Saint-Lô-d'Ourville is now part of Port-Bail-sur-Mer.
    resolution = index.resolve("Saint-Lô-d'Ourville")
    assert found(resolution) == "Port-Bail-sur-Mer (50)"
    assert insee_of(resolution) == "50412"


def test_paris(index: CommuneIndex) -> None:
    resolution = index.resolve("paris")
    assert found(resolution) == "Paris (75)"
    assert insee_of(resolution) == "75056"
    assert found(index.resolve("Lyon")) == "Lyon (69)"
    assert found(index.resolve("marseille")) == "Marseille (13)"


@pytest.mark.parametrize(
    "text", ["Paris 11", "paris 11e", "Paris 11ème", "paris 11eme arrondissement", "11e arrondissement de Paris"]
)
def test_an_arrondissement(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert found(resolution) == "Paris 11e Arrondissement"
    assert insee_of(resolution) == "75111"


def test_an_arrondissement_by_postcode(index: CommuneIndex) -> None:
    assert found(index.resolve("75011")) == "75011 Paris 11e Arrondissement"
    assert found(index.resolve("75011 Paris")) == "75011 Paris 11e Arrondissement"
    assert found(index.resolve("75116")) == "75116 Paris 16e Arrondissement"
    assert insee_of(index.resolve("Lyon 3e")) == "69383"
    assert insee_of(index.resolve("marseille 13")) == "13213"
    assert insee_of(index.resolve("13001")) == "13201"


def test_article_names(index: CommuneIndex) -> None:
    assert found(index.resolve("le havre")) == "Le Havre (76)"
    assert found(index.resolve("Havre")) == "Le Havre (76)"
    assert found(index.resolve("au Havre")) == "Le Havre (76)"
    assert found(index.resolve("du mans")) == "Le Mans (72)"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("cherboug", "Cherbourg-en-Cotentin (50)"),
        ("sainr lo", "Saint-Lô (50)"),
        ("saint etiene", "Saint-Étienne (42)"),
        ("saint-ettienne", "Saint-Étienne (42)"),
        ("marseile", "Marseille (13)"),
        ("monpellier", "Montpellier (34)"),
        ("tuolouse", "Toulouse (31)"),
        ("st medard en jale", "Saint-Médard-en-Jalles (33)"),
    ],
)
def test_typos(index: CommuneIndex, text: str, label: str) -> None:
    resolution = index.resolve(text)
    assert found(resolution) == label
    assert resolution.whole


def test_two_close_typo_matches_ask(index: CommuneIndex) -> None:
    # "bordeau" is one letter from Bordeaux and from Bourdeau (73).
    resolution = index.resolve("bordeau")
    assert resolution.status == "ambiguous"
    assert resolution.candidates[0].label == "Bordeaux (33)"
    assert "Bourdeau (73)" in [c.label for c in resolution.candidates]


@pytest.mark.parametrize("text", ["azertyuiop", "???", "qsdfghjklm", "xxxxxxx", "1234", "!!!", "🙂🙂", "le la les"])
def test_nonsense_is_unknown(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert (resolution.status, resolution.reason) == ("unknown", "no_match")
    assert resolution.place is None and not resolution.candidates


def test_every_commune_is_found_by_its_name_and_departement(index: CommuneIndex) -> None:
    sample = [c for c in (index.by_insee(insee) for insee in _sample_insee_codes()) if c is not None]
    assert len(sample) > 300
    for commune in sample:
        resolution = index.resolve(f"{commune.name} ({commune.departement})")
        if resolution.status == "ambiguous":  # "Saint-Pierre (15)" when it is also a prefix of a bigger one
            assert commune.insee in {c.insee for c in resolution.candidates}, (commune, resolution)
        else:
            assert insee_of(resolution) == commune.insee, (commune, resolution)
        if commune.postcodes:
            with_postcode = index.resolve(f"{commune.name} {commune.postcodes[0]}")
            assert insee_of(with_postcode) == commune.insee, (commune, with_postcode)


def _sample_insee_codes() -> list[str]:
    lines = DATA_PATH.read_text(encoding="utf-8").splitlines()[1::97]
    return [line.split(",")[0] for line in lines if ",commune," in line]


# --------------------------------------------------------------------------------------------------
# Ambiguity


def test_a_name_of_several_communes_is_ambiguous(index: CommuneIndex) -> None:
    resolution = index.resolve("Saint-Pierre")
    assert resolution.status == "ambiguous"
    assert resolution.whole
    assert len(resolution.candidates) == MAX_CANDIDATES == 8
    labels = [c.label for c in resolution.candidates]
    assert labels[0] == "Saint-Pierre (974)"
    assert "Saint-Pierre (15)" in labels and "Saint-Pierre (972)" in labels
    populations = [c.population or 0 for c in resolution.candidates]
    assert populations == sorted(populations, reverse=True)
    assert resolution.place is None


def test_a_much_bigger_homonym_still_asks(index: CommuneIndex) -> None:
    # La Rochelle (17) has 77,000 inhabitants, La Rochelle (70) a hundred: the citizen may live in either.
    resolution = index.resolve("la rochelle")
    assert resolution.status == "ambiguous"
    assert [c.departement for c in resolution.candidates] == ["17", "70"]


def test_a_short_name_also_offers_the_big_town_it_starts(index: CommuneIndex) -> None:
    resolution = index.resolve("clermont")
    assert resolution.status == "ambiguous"
    assert resolution.candidates[0].label == "Clermont-Ferrand (63)"
    assert "Clermont (60)" in [c.label for c in resolution.candidates]
    assert index.resolve("boulogne").candidates[0].label == "Boulogne-Billancourt (92)"


def test_choosing_a_candidate(index: CommuneIndex) -> None:
    candidates = index.resolve("Saint-Pierre").candidates
    chosen = index.choose(candidates[-1].insee)
    assert found(chosen) == candidates[-1].label
    assert insee_of(index.choose("15206")) == "15206"
    # A delegated commune: its new commune, where it lies.
    delegated = index.choose("50503")
    assert found(delegated) == "Port-Bail-sur-Mer (50)"
    assert delegated.place is not None and abs(delegated.place.lat - 49.352) < 0.01
    for unknown in ["99999", "", "abc"]:
        assert index.choose(unknown).status == "unknown"


# --------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty(index: CommuneIndex, text: str) -> None:
    resolution = index.resolve(text)
    assert (resolution.status, resolution.reason) == ("invalid", "empty")


def test_too_long(index: CommuneIndex) -> None:
    assert index.resolve("x" * 201).reason == "too_long"
    assert index.resolve("saint lo " * 30).status == "invalid"
    huge = "je cherche un atelier à Saint-Lô\n" * 5000
    started = time.perf_counter()
    assert index.resolve(huge).reason == "too_long"
    assert index.find_in_sentence(huge) is None
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "\u200b",
        "e\u0301",
        "𝔖𝔞𝔦𝔫𝔱-𝔏𝔬",
        "中文",
        "٣٤٥٦٧",
        "'" * 150,
        "à " * 99,
        "de la de la de la",
        "50000 50000",
        "2A",
        "97",
        "(15)",
        "paris 99",
        "0" * 200,
        "\U0010ffff" * 10,
        "\ud800",
    ],
)
def test_never_raises(index: CommuneIndex, text: str) -> None:
    assert index.resolve(text).status in ("found", "ambiguous", "unknown", "invalid")
    result = index.find_in_sentence(text)
    assert result is None or isinstance(result, Resolution)


# --------------------------------------------------------------------------------------------------
# GPS points


def test_a_gps_point_is_in_the_nearest_commune(index: CommuneIndex) -> None:
    resolution = index.locate(49.1155, -1.0830)
    assert found(resolution) == "Saint-Lô (50)"
    assert resolution.place is not None and resolution.place.insee == "50502"
    assert (resolution.place.lat, resolution.place.lon) == (49.1155, -1.0830)
    assert found(index.locate(48.8566, 2.3522)) == "Paris 4e Arrondissement"
    assert found(index.locate(49.6334, -1.6339)) == "Cherbourg-en-Cotentin (50)"
    assert found(index.locate(41.93, 8.74)) == "Ajaccio (2A)"
    assert found(index.locate(-20.88, 55.45)) == "Saint-Denis (974)"
    assert found(index.locate(-12.78, 45.23)) == "Mamoudzou (976)"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(51.5, -0.12), (0, 0), (48.0, -6.0), (40.4, -3.7), (math.nan, 2.0), (45.0, math.inf), (91, 0), (45, 181)],
)
def test_a_gps_point_outside_france(index: CommuneIndex, lat: float, lon: float) -> None:
    resolution = index.locate(lat, lon)
    assert (resolution.status, resolution.reason) == ("invalid", "outside_france")


def test_locate_is_fast(index: CommuneIndex) -> None:
    index.locate(47.0, 2.0)
    started = time.perf_counter()
    for step in range(500):
        index.locate(42.5 + step * 0.017, -4.0 + step * 0.023)
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------------------------------
# A place in a sentence


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("de l'aide à st lo", "Saint-Lô (50)"),
        ("près de 50000", "50000 Saint-Lô"),
        ("il y a des ateliers à Saint-Lô ?", "Saint-Lô (50)"),
        ("je cherche un atelier informatique à Cherbourg", "Cherbourg-en-Cotentin (50)"),
        ("je cherche un atelier informatique à cherbourg", "Cherbourg-en-Cotentin (50)"),
        ("un lieu pour mes impôts vers saint etienne", "Saint-Étienne (42)"),
        ("je suis à Saint-Médard-en-Jalles", "Saint-Médard-en-Jalles (33)"),
        ("un atelier près de chez moi à Paris 18e ?", "Paris 18e Arrondissement"),
        ("cours d'informatique pour seniors à Bordeaux", "Bordeaux (33)"),
        ("où se former au numérique près d'Angers", "Angers (49)"),
        ("quelqu'un peut m'aider au Havre ?", "Le Havre (76)"),
        ("un atelier à La Rochelle (17) ?", "La Rochelle (17)"),
        ("je cherche une permanence numérique 59000", "59000 Lille"),
        ("atelier tablette pour débutants du côté de Saint-Etiene", "Saint-Étienne (42)"),
        ("j'habite à saint pierre 974, il y a un atelier ?", "Saint-Pierre (974)"),
        ("un atelier à Tours", "Tours (37)"),
        ("ateliers pres de 75 011 svp", "75011 Paris 11e Arrondissement"),
        ("je suis a saint lo 50000 et je cherche de l'aide", "50000 Saint-Lô"),
        ("un atelier vers saint etiene ?", "Saint-Étienne (42)"),
        ("je cherche un atelier à Cherboug", "Cherbourg-en-Cotentin (50)"),
        ("mon code postal est 50000 et je cherche un atelier", "50000 Saint-Lô"),
    ],
)
def test_a_place_in_a_question(index: CommuneIndex, text: str, label: str) -> None:
    resolution = index.find_in_sentence(text)
    assert found(resolution) == label
    # "près de 50000" is nothing but a place; the questions are more.
    only_a_place = text in ("près de 50000", "je suis à Saint-Médard-en-Jalles")
    assert resolution is not None and resolution.whole == only_a_place


def test_an_ambiguous_place_in_a_question(index: CommuneIndex) -> None:
    resolution = index.find_in_sentence("des ateliers à Saint-Pierre ?")
    assert resolution is not None and resolution.status == "ambiguous"
    assert resolution.candidates[0].label == "Saint-Pierre (974)"


EVERYDAY_QUESTIONS = [
    "comment créer un compte ameli",
    "j'ai oublié mon mot de passe",
    "je veux parler à un conseiller",
    "comment faire ma déclaration d'impôts en ligne",
    "mon téléphone est en panne",
    "je voudrais m'inscrire à l'atelier de mardi",
    "aide pour la CAF",
    "je n'arrive pas à me connecter",
    "trouver de l'aide près de chez moi",
    "où sont les ateliers numériques",
    "bonjour",
    "merci",
    "oui",
    "non",
    "Bonjour, je suis nouvelle ici",
    "au plaisir",
    "c'est faux",
    "les étapes",
    "je suis perdue",
    "j'ai mal à la tête depuis 3 jours",
    "il faut que je passe à la mairie",
    "je suis à la maison",
    "je vais à la poste demain matin",
    "il a eu un problème avec sa carte vitale",
    "le rendez-vous est au mois de mars",
    "ma fille m'a appelé de la part de la banque",
    "je n'ai pas accès à internet à la maison",
    "comment envoyer un mail avec une pièce jointe",
    "comment changer mon mot de passe gmail",
    "j'ai reçu un sms bizarre, c'est une arnaque ?",
    "à quelle heure ouvre la médiathèque",
    "je ne comprends rien à l'ordinateur",
    "il faut aller sur le site de la CAF",
    "comment prendre rendez-vous chez le médecin sur doctolib",
    "mon compte France Travail est bloqué",
    "je voudrais de l'aide pour remplir un formulaire",
    "mon colis 75011 n'arrive pas",
    "ma commande numéro 50000 n'est jamais arrivée",
    "mon numéro allocataire est 1234567 et mon numéro fiscal 50000",
    "j'ai payé 12000 € de frais de dossier",
    "une facture de 75011 euros",
    "Envoyez le SMS au 33700",
    "le service client d'Orange ne répond pas",
    "je n'ai pas de forfait chez orange",
    "je veux parler à une vraie personne",
    "tu peux m'aider à changer la sonnerie",
    "mot de passe oublié pour france travail",
    "il y a un atelier à côté de la gare ?",
    "je suis dans la rue",
    "je l'ai vu à la télé",
    "ça marche au bout de trois fois",
    "je suis de garde ce week-end",
    "au secours",
    "à bientôt",
    "je reviens dans 5 minutes",
    "c'est à cause du réseau",
    "vers 14h ça vous va ?",
    "Le 33 700 est la plateforme contre le spam",
    "comment scanner un document à la maison",
    "mon ordi a planté",
    "je me suis fait avoir en répondant à un appel",
    "je suis au calme à la ferme",
    "ça vaut le coup de garder ses papiers",
]

# Capitalised words after a preposition that are not communes (or only tiny ones named like them).
NAMES_AND_ORGANISATIONS = [
    "j'ai envoyé un message à Marie",
    "je l'ai demandé à Luc",
    "merci à Pierre pour son aide",
    "j'ai parlé à Monsieur Robert",
    "je vais à la CAF demain",
    "je suis inscrit à Pôle Emploi",
    "je dois aller à la Poste",
    "j'ai un rdv à la Maison France Services",
    "on se voit à la Toussaint",
    "mon fils vit en Suisse",
    "je suis en Normandie",
    "j'habite en Bretagne",
    "je suis de la Manche",
    "j'habite dans le Calvados",
    "je suis à la Réunion",
    "un dossier à l'URSSAF",
    "j'ai un compte sur Doctolib",
]


def test_enough_everyday_questions() -> None:
    assert len(EVERYDAY_QUESTIONS) >= 40


@pytest.mark.parametrize("text", EVERYDAY_QUESTIONS)
def test_no_place_in_an_everyday_question(index: CommuneIndex, text: str) -> None:
    assert index.find_in_sentence(text) is None


# Short answers that the conversation must not take for a place.
SHORT_ANSWERS = [
    "Personne",
    "Ateliers",
    "Mardi",
    "Impôts",
    "Aide",
    "Merci beaucoup",
    "Pas de souci",
    "Centre-ville",
    "Mairie",
    "À la maison",
    "France services",
    "Madame",
    "Chez moi",
    "Pas loin",
    "La semaine prochaine",
    "Rien",
    "Carte vitale",
    "Mot de passe",
    "D'accord merci",
    "Au revoir",
]


@pytest.mark.parametrize("text", SHORT_ANSWERS)
def test_no_place_in_a_short_answer(index: CommuneIndex, text: str) -> None:
    assert index.find_in_sentence(text) is None


@pytest.mark.parametrize("text", NAMES_AND_ORGANISATIONS)
def test_no_place_in_names_of_people_organisations_and_regions(index: CommuneIndex, text: str) -> None:
    assert index.find_in_sentence(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "il faut aller dans la rue principale",
        "on se voit en mars",
        "il a eu peur",
        "à Y",
        "je l'ai vu à la vue de tous",
        "au bourg",
        "le sept du mois",
        "elle habite au bout de la rue",
    ],
)
def test_communes_named_like_common_words_are_not_places_in_a_sentence(index: CommuneIndex, text: str) -> None:
    assert index.find_in_sentence(text) is None


@pytest.mark.parametrize(("text", "insee"), [("Rue", "80688"), ("Eu", "76255"), ("Y", "80829"), ("Vue", "44220")])
def test_the_same_words_are_communes_when_the_text_is_meant_to_be_a_place(
    index: CommuneIndex, text: str, insee: str
) -> None:
    assert insee_of(index.resolve(text)) == insee


def test_a_town_named_like_a_word_needs_a_clear_preposition(index: CommuneIndex) -> None:
    assert found(index.find_in_sentence("j'habite à Orange")) == "Orange (84)"
    assert found(index.find_in_sentence("un atelier près de Sens")) == "Sens (89)"
    assert index.find_in_sentence("le service client d'Orange") is None
    assert index.find_in_sentence("orange") is None  # the operator, maybe
    assert found(index.resolve("orange")) == "Orange (84)"


# --------------------------------------------------------------------------------------------------
# A message that is only a place


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("50000", "50000 Saint-Lô"),
        ("saint lo", "Saint-Lô (50)"),
        ("St-Lô 50000", "50000 Saint-Lô"),
        ("je suis à Saint-Lô", "Saint-Lô (50)"),
        ("j'habite cherbourg", "Cherbourg-en-Cotentin (50)"),
        ("à saint etienne", "Saint-Étienne (42)"),
        ("Bonjour, j'habite à Saint-Lô. Merci !", "Saint-Lô (50)"),
        ("code postal 75011", "75011 Paris 11e Arrondissement"),
        ("j'habite dans le 50000", "50000 Saint-Lô"),
        ("près de Tours", "Tours (37)"),
        ("cherboug", "Cherbourg-en-Cotentin (50)"),
        ("Granville", "Granville (50)"),
    ],
)
def test_a_message_that_is_only_a_place_is_whole(index: CommuneIndex, text: str, label: str) -> None:
    for resolution in (index.find_in_sentence(text), index.resolve(text)):
        assert found(resolution) == label
        assert resolution is not None and resolution.whole


def test_an_ambiguous_place_alone_is_whole(index: CommuneIndex) -> None:
    for resolution in (index.find_in_sentence("Saint-Pierre"), index.resolve("Saint-Pierre")):
        assert resolution is not None and resolution.status == "ambiguous" and resolution.whole


def test_an_unknown_postcode_alone_is_whole(index: CommuneIndex) -> None:
    resolution = index.find_in_sentence("99999")
    assert resolution is not None and resolution.reason == "unknown_postcode" and resolution.whole


@pytest.mark.parametrize(
    "text",
    [
        "il y a des ateliers à Saint-Lô ?",
        "je cherche un atelier à Cherbourg demain",
        "Saint-Lô 50000, il y a quoi comme ateliers ?",
        "mon code postal est 50000 et je cherche un atelier",
    ],
)
def test_a_question_with_a_place_is_not_whole(index: CommuneIndex, text: str) -> None:
    for resolution in (index.find_in_sentence(text), index.resolve(text)):
        assert resolution is not None and resolution.status == "found", text
        assert not resolution.whole


def test_resolve_finds_a_place_in_a_sentence_too(index: CommuneIndex) -> None:
    resolution = index.resolve("euh alors moi j'habite à Saint-Lô depuis dix ans")
    assert found(resolution) == "Saint-Lô (50)"
    assert not resolution.whole


def test_commune_is_frozen() -> None:
    commune = Commune("50502", "Saint-Lô", "commune", None, "50", ("50000",), 49.1, -1.08, 19471)
    with pytest.raises(AttributeError):
        commune.name = "Cherbourg"  # type: ignore[misc]


def test_resolving_is_fast(index: CommuneIndex) -> None:
    texts = [*EVERYDAY_QUESTIONS, "saint lo", "50000", "cherboug", "Saint-Pierre", "je suis à Saint-Médard-en-Jalles"]
    for text in texts:  # first fuzzy match builds its list of names
        index.find_in_sentence(text)
    started = time.perf_counter()
    for _ in range(3):
        for text in texts:
            index.find_in_sentence(text)
            index.resolve(text)
    per_call = (time.perf_counter() - started) / (6 * len(texts))
    assert per_call < 0.02  # about 1 ms on a developer machine


def test_locate_finds_the_nearest_commune_centre_like_a_brute_force_search() -> None:
    import random

    index = communes()
    towns = [t for t in index.all_current() if not (t.kind == "commune" and t.insee in {"75056", "69123", "13055"})]
    rng = random.Random(3)
    points = [(t.lat + rng.uniform(-0.2, 0.2), t.lon + rng.uniform(-0.2, 0.2)) for t in rng.sample(towns, 150)]
    points += [(rng.uniform(41.0, 52.0), rng.uniform(-6.0, 10.0)) for _ in range(50)]
    for lat, lon in points:
        nearest = min(towns, key=lambda t: _haversine(lat, lon, t.lat, t.lon))
        resolution = index.locate(lat, lon)
        if _haversine(lat, lon, nearest.lat, nearest.lon) > 30:
            assert resolution.status == "invalid"
        else:
            assert resolution.place is not None and resolution.place.label == nearest.label


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
