"""What a citizen reads about a place: every detail the data has, nothing it does not."""

from __future__ import annotations

from datetime import UTC, datetime

from knowledge.models import Place
from knowledge.places.hours import hours_status
from knowledge.places.messages import distance, phone, place_text, venue
from knowledge.places.search import PlaceCard

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday, 11 h in Paris


def _place(**fields: str) -> Place:
    values = {"adresse": "1 rue de la Poste", "horaires": "Mo-Fr 09:00-12:00,14:00-17:30", **fields}
    return Place(
        source_id="x",
        nom="Médiathèque",
        commune="Saint-Lô",
        code_postal="50000",
        latitude=49.11,
        longitude=-1.09,
        approximate=False,
        services="Aide aux démarches administratives|Accès internet et matériel informatique",
        fields=values,
    )


def test_a_place_with_every_detail() -> None:
    place = _place(
        telephone="+33233000000",
        prise_en_charge_specifique="Surdité|Déficience visuelle",
        prise_rdv="https://rdv.example.org/lieu|https://other.example.org",
        frais_a_charge="Gratuit",
    )
    card = PlaceCard(place, 0.42, hours_status(place.fields["horaires"], NOW), [])
    assert place_text(1, card, NOW).split("\n") == [
        "1. Médiathèque — 420 m",
        "Ouvert maintenant, jusqu'à 12 h",
        "Adresse : 1 rue de la Poste, 50000 Saint-Lô",
        "Téléphone : 02 33 00 00 00",
        "Services : Aide aux démarches administratives, Accès internet et matériel informatique",
        "Accueil adapté : Surdité, Déficience visuelle",
        "Prendre rendez-vous : https://rdv.example.org/lieu",
        "Tarif : gratuit",
    ]
    assert venue(card.place) == {
        "latitude": 49.11,
        "longitude": -1.09,
        "title": "Médiathèque",
        "address": "1 rue de la Poste, 50000 Saint-Lô",
    }


def test_a_place_with_little_data_says_only_what_is_known() -> None:
    place = _place(horaires="lundi 9h-12h")
    place.approximate = True
    card = PlaceCard(place, 12.4, hours_status("lundi 9h-12h", NOW), [])
    assert place_text(3, card, NOW).split("\n") == [
        "3. Médiathèque — 12 km",
        "Horaires : lundi 9h-12h",
        "Adresse : 1 rue de la Poste, 50000 Saint-Lô (position approximative)",
        "Services : Aide aux démarches administratives, Accès internet et matériel informatique",
    ]


def test_distances_and_phone_numbers_are_written_the_french_way() -> None:
    assert [distance(km) for km in (0.01, 0.349, 1.25, 9.96, 25.4)] == ["50 m", "350 m", "1,2 km", "10 km", "25 km"]
    assert phone("+33233000000") == "02 33 00 00 00"
    assert phone("+262262000000") == "+262262000000"
