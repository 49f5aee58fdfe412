"""Deterministic generator of card transactions for the fraud_detection assignment.

Trusted code: it lives in hidden/ and never reaches a candidate. It makes a deployment instance's
data from the instance's two seeds (`reproducibility.seeds` in assignment.yaml, each derived from
the deployment's secret by grader.instance):

- the `public` seed draws the instance's *world* (where its customers live and travel, how they
  spend, and the fraud tactics of the year: which categories, channels, hours, places and amounts
  each favours) and the public train and dev splits (`public_files`; the committed files in
  candidate/data/ are its output for the published seed: regenerate them with
  `python hidden/generate.py candidate/data`);
- the `hidden` seed draws the *holiday season* (which categories boom, how people's spending,
  travel and phones change, and the fraudsters' new tactic) and the hidden customers, whose rows
  the harness generates in memory (`hidden_items`), so candidates never see hidden rows or their
  labels.

The world: customers of a European card issuer, each with a home city, a handful of devices, usual
amounts, usual hours and favourite merchant categories. They shop in store, contactless and online,
sometimes in bursts, sometimes while travelling, and sometimes on a new phone. Fraud comes in
episodes on one account, each episode one of the world's tactics: an account takeover (a new device,
often from abroad, larger amounts), card testing (a burst of small online charges), counterfeit
cards (in store, away from the customer), and a share that looks entirely normal. What a tactic
favours is drawn per world from wide ranges, so data simulated for other seeds teaches a model
other worlds, not this one.

Each row is what a real-time scoring service receives: the transaction, the customer's profile and
the feature store's raw context (the previous transaction, velocity counts, devices seen more than a
week ago). Nothing is engineered: distances, travel speed, device novelty and amount ratios are left
to the candidate.

The hidden split has two slices: `recent` (the weeks after the public data, the same world) and
`shift` (the holiday season: customers shop more, in bursts, in categories of the season's choosing,
spend and travel more or less than usual, many start using a new phone, and a new fraud tactic
appears that the public data never shows).

Each instance is its own world on purpose: the simulator's output for any other seeds, holiday
season included, is no help to a model of this one (tests/assignments/
test_fraud_detection_instance.py measures it); assignments/fraud_detection/README.md says what
stays public.

The output depends only on the seeds and on numpy's Generator streams (numpy is pinned in the
grader's lock); tests/assignments/test_fraud_detection.py checks the committed files against it.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

LABEL = "is_fraud"
PUBLIC_FILES = ("train.jsonl", "dev.jsonl")

# (city, country, lat, lon). Homes are drawn from European countries, trips and fraud from all.
CITIES = [
    ("Berlin", "DE", 52.52, 13.40), ("Munich", "DE", 48.14, 11.58), ("Hamburg", "DE", 53.55, 9.99),
    ("Cologne", "DE", 50.94, 6.96), ("Frankfurt", "DE", 50.11, 8.68),
    ("Stuttgart", "DE", 48.78, 9.18), ("Leipzig", "DE", 51.34, 12.37),
    ("Paris", "FR", 48.86, 2.35), ("Lyon", "FR", 45.76, 4.84), ("Marseille", "FR", 43.30, 5.37),
    ("Toulouse", "FR", 43.60, 1.44), ("Lille", "FR", 50.63, 3.06), ("Bordeaux", "FR", 44.84, -0.58),
    ("Nantes", "FR", 47.22, -1.55), ("Nice", "FR", 43.70, 7.27),
    ("Amsterdam", "NL", 52.37, 4.90), ("Rotterdam", "NL", 51.92, 4.48),
    ("Utrecht", "NL", 52.09, 5.12), ("Brussels", "BE", 50.85, 4.35), ("Antwerp", "BE", 51.22, 4.40),
    ("Luxembourg", "LU", 49.61, 6.13), ("Madrid", "ES", 40.42, -3.70),
    ("Barcelona", "ES", 41.39, 2.17), ("Valencia", "ES", 39.47, -0.38),
    ("Seville", "ES", 37.39, -5.98), ("Bilbao", "ES", 43.26, -2.93), ("Lisbon", "PT", 38.72, -9.14),
    ("Porto", "PT", 41.15, -8.61), ("Milan", "IT", 45.46, 9.19), ("Rome", "IT", 41.90, 12.50),
    ("Naples", "IT", 40.85, 14.27), ("Turin", "IT", 45.07, 7.69), ("Bologna", "IT", 44.49, 11.34),
    ("Vienna", "AT", 48.21, 16.37), ("Graz", "AT", 47.07, 15.44), ("Zurich", "CH", 47.37, 8.54),
    ("Geneva", "CH", 46.20, 6.14), ("Dublin", "IE", 53.35, -6.26), ("Cork", "IE", 51.90, -8.47),
    ("London", "GB", 51.51, -0.13), ("Manchester", "GB", 53.48, -2.24),
    ("Edinburgh", "GB", 55.95, -3.19), ("Warsaw", "PL", 52.23, 21.01),
    ("Krakow", "PL", 50.06, 19.94), ("Gdansk", "PL", 54.35, 18.65), ("Prague", "CZ", 50.08, 14.44),
    ("Brno", "CZ", 49.20, 16.61), ("Bratislava", "SK", 48.15, 17.11),
    ("Budapest", "HU", 47.50, 19.04), ("Ljubljana", "SI", 46.06, 14.51),
    ("Zagreb", "HR", 45.81, 15.98), ("Split", "HR", 43.51, 16.44),
    ("Bucharest", "RO", 44.43, 26.10), ("Cluj-Napoca", "RO", 46.77, 23.59),
    ("Sofia", "BG", 42.70, 23.32), ("Athens", "GR", 37.98, 23.73),
    ("Thessaloniki", "GR", 40.64, 22.94), ("Stockholm", "SE", 59.33, 18.07),
    ("Gothenburg", "SE", 57.71, 11.97), ("Copenhagen", "DK", 55.68, 12.57),
    ("Aarhus", "DK", 56.16, 10.20), ("Oslo", "NO", 59.91, 10.75), ("Bergen", "NO", 60.39, 5.32),
    ("Helsinki", "FI", 60.17, 24.94), ("Tallinn", "EE", 59.44, 24.75), ("Riga", "LV", 56.95, 24.11),
    ("Vilnius", "LT", 54.69, 25.28), ("Valletta", "MT", 35.90, 14.51),
    ("Nicosia", "CY", 35.17, 33.36), ("Belgrade", "RS", 44.79, 20.45), ("Kyiv", "UA", 50.45, 30.52),
    ("Istanbul", "TR", 41.01, 28.98), ("Moscow", "RU", 55.76, 37.62),
    # Further away.
    ("New York", "US", 40.71, -74.01), ("Miami", "US", 25.76, -80.19),
    ("Los Angeles", "US", 34.05, -118.24), ("Toronto", "CA", 43.65, -79.38),
    ("Mexico City", "MX", 19.43, -99.13), ("Cancun", "MX", 21.16, -86.85),
    ("Sao Paulo", "BR", -23.55, -46.63), ("Rio de Janeiro", "BR", -22.91, -43.17),
    ("Buenos Aires", "AR", -34.60, -58.38), ("Bogota", "CO", 4.71, -74.07),
    ("Lagos", "NG", 6.52, 3.38), ("Accra", "GH", 5.60, -0.19), ("Nairobi", "KE", -1.29, 36.82),
    ("Johannesburg", "ZA", -26.20, 28.05), ("Cape Town", "ZA", -33.92, 18.42),
    ("Cairo", "EG", 30.04, 31.24), ("Marrakesh", "MA", 31.63, -7.99), ("Dubai", "AE", 25.20, 55.27),
    ("Tel Aviv", "IL", 32.09, 34.78), ("Mumbai", "IN", 19.08, 72.88), ("Delhi", "IN", 28.61, 77.21),
    ("Bangkok", "TH", 13.76, 100.50), ("Ho Chi Minh City", "VN", 10.82, 106.63),
    ("Jakarta", "ID", -6.21, 106.85), ("Denpasar", "ID", -8.65, 115.22),
    ("Manila", "PH", 14.60, 120.98), ("Kuala Lumpur", "MY", 3.14, 101.69),
    ("Singapore", "SG", 1.35, 103.82), ("Shanghai", "CN", 31.23, 121.47),
    ("Hong Kong", "HK", 22.32, 114.17), ("Tokyo", "JP", 35.68, 139.69),
    ("Seoul", "KR", 37.57, 126.98), ("Sydney", "AU", -33.87, 151.21),
    ("Almaty", "KZ", 43.24, 76.89), ("Karachi", "PK", 24.86, 67.01), ("Dhaka", "BD", 23.81, 90.41),
]
EUROPE = 73  # the first EUROPE entries are European cities; homes are drawn from their countries
COUNTRIES = sorted({c for _, c, _, _ in CITIES})
HOME_COUNTRIES = sorted({c for _, c, _, _ in CITIES[:EUROPE]})

# The merchant categories and channels are the contract's vocabulary (candidate/README.md); how
# often each occurs, what it costs and what fraud makes of it belong to the world.
CATEGORIES = [
    "grocery", "restaurants", "fuel", "pharmacy", "clothing", "electronics", "travel",
    "entertainment", "digital_goods", "gift_cards", "jewelry", "money_transfer", "utilities",
]
CHANNELS = ["in_store", "contactless", "online"]
BASE_WEIGHT = np.array([30, 18, 9, 5, 8, 3, 2, 6, 6, 1.5, 0.6, 2, 5], dtype=float)
BASE_SCALE = np.array([1.0, 0.8, 1.2, 0.6, 1.6, 4.0, 6.0, 0.9, 0.5, 1.5, 5.0, 3.0, 2.0])
ONLINE_ONLY = {"digital_goods", "utilities", "money_transfer"}
CARD_PRESENT = [i for i, name in enumerate(CATEGORIES) if name not in ONLINE_ONLY]

DAY = 86400.0
EPOCH = datetime(2024, 1, 1)
# Periods in days from EPOCH: a warm-up fills the feature store before rows are emitted.
PUBLIC_PERIODS = {"train": (30, 150), "dev": (150, 180)}
HIDDEN_PERIODS = {"recent": (211, 239), "shift": (330, 358)}
FESTIVE = (320, 366)  # the holiday season, in days from EPOCH

# Independent streams of one seed, so adding a draw to one never moves another.
_WORLD, _SEASON, _PEOPLE = 1, 2, 3


# --------------------------------------------------------------------------- the world

@dataclass(frozen=True)
class Tactic:
    """How one kind of fraud episode looks. Drawn per world (and per season for the new one)."""

    kind: str
    count: tuple[int, int]  # transactions in an episode, [low, high)
    gap: float  # mean minutes between them
    cats: tuple[int, ...] | None  # the categories it favours; None: the victim's own habits
    cat_p: tuple[float, ...] | None
    channel: str  # "online", "present" (in store or contactless) or "habit" (the victim's)
    attacker_device: bool  # online: a device new to the account, else the victim's own
    where: str  # "origin", "travel", "home" or "near" (within some 30 km of the home city)
    origins: tuple[int, ...]  # where "origin" episodes come from (indices into CITIES)
    origin_p: tuple[float, ...]
    far: float  # the share of "origin" episodes that come from there (else a home-region city)
    amount: tuple[str, float, float]  # ("relative", log-mean, log-sd) or ("small", low, high)
    hour: tuple[float, float] | None  # (peak hour, spread in hours); None: the victim's hours
    present_share: float  # card present: the share of in-store (rest contactless)


@dataclass(frozen=True)
class World:
    """Everything the public seed decides: what a model must learn from the public data."""

    homes: tuple[int, ...]  # indices into CITIES
    home_p: tuple[float, ...]
    travel_cdf: tuple[float, ...]  # over all of CITIES
    weight: np.ndarray  # everyday category frequencies
    scale: np.ndarray  # typical amount of each category, relative to the customer's scale
    online_bias: np.ndarray  # how much more often each category is bought online
    amount_mu: float  # log of a typical customer's typical amount
    peak_mu: float  # the customers' usual peak hour, on average
    online_ab: tuple[float, float]  # beta parameters of the customers' online share
    vpn_share: float
    second_device: float
    session: float  # the chance that a purchase starts a burst of purchases
    trip_gap: float  # mean days between trips
    phone_gap: float  # mean days between new phones
    fraud_rate: float  # episodes per customer per day
    tactics: tuple[Tactic, ...]
    tactic_p: tuple[float, ...]


@dataclass(frozen=True)
class Season:
    """Everything the hidden seed decides about the holiday season: the shift."""

    boost: np.ndarray  # factor on each category's frequency
    amount: float  # factor on festive amounts
    busy: float  # factor on how often people shop
    session: float  # the chance that a purchase starts a burst
    trip_gap: float  # mean days between trips
    new_phones: float  # the share of customers who get a new phone for the holidays
    fraud_factor: float  # more fraud episodes
    tactic: Tactic  # the fraudsters' new tactic
    tactic_share: float  # its share of the holiday episodes


def _stream(seed: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([purpose, int(seed)])


def _choice(rng: np.random.Generator, n: int, k: int, p: np.ndarray | None = None) -> list[int]:
    return [int(i) for i in rng.choice(n, size=k, replace=False, p=p)]


def _categories(rng: np.random.Generator, low: int, high: int, allowed: list[int] | None = None
                ) -> tuple[tuple[int, ...], tuple[float, ...]]:
    pool = allowed if allowed is not None else list(range(len(CATEGORIES)))
    cats = sorted(pool[i] for i in _choice(rng, len(pool), int(rng.integers(low, high + 1))))
    p = rng.dirichlet(np.ones(len(cats)))
    return tuple(cats), tuple(float(x) for x in p)


def _hour(rng: np.random.Generator) -> tuple[float, float]:
    """When a tactic strikes: in the hours people shop (a night-time peak would give fraud away
    in every world alike), around a peak of its own."""
    return float(rng.uniform(7.0, 23.0)), float(rng.uniform(1.0, 4.0))


def _tactic(rng: np.random.Generator, kind: str, origins: tuple[int, ...],
            origin_p: tuple[float, ...]) -> Tactic:
    """One tactic of the family, its parameters drawn from wide ranges."""
    present = kind in ("counterfeit", "skimming", "relay")  # not in online-only categories
    cats, cat_p = _categories(rng, 2, 4, CARD_PRESENT if present else None)
    hour = _hour(rng)
    far = float(rng.uniform(0.3, 0.95))
    in_store = 0.0 if kind == "relay" else float(rng.uniform(0.2, 0.9))
    where = {"takeover": "origin", "testing": str(rng.choice(["origin", "travel"])),
             "counterfeit": str(rng.choice(["travel", "origin"])), "quiet": "home",
             "proxy": "near", "hijack": "home", "skimming": "near", "relay": "home"}[kind]

    def make(count, gap, channel, attacker, amount, cats=cats, cat_p=cat_p, hour=hour):
        return Tactic(kind, count, gap, cats, cat_p, channel, attacker, where, origins, origin_p,
                      far, amount, hour, in_store)

    def relative(low, high, sd_low, sd_high):
        return "relative", float(rng.uniform(low, high)), float(rng.uniform(sd_low, sd_high))

    if kind == "takeover":  # someone else's device logs in and spends
        return make((1, int(rng.integers(3, 7))), float(rng.uniform(5, 60)), "online", True,
                    relative(-0.2, 2.2, 0.4, 0.9))
    if kind == "testing":  # small charges to see whether the card works
        low = float(rng.uniform(0.5, 3.0))
        few, few_p = _categories(rng, 1, 3)
        return make((int(rng.integers(2, 5)), int(rng.integers(6, 11))), float(rng.uniform(1, 20)),
                    "online", True, ("small", low, low + float(rng.uniform(2, 12))), few, few_p)
    if kind == "counterfeit":  # a copied card, used in shops
        return make((1, int(rng.integers(2, 6))), float(rng.uniform(15, 90)), "present", False,
                    relative(0.0, 1.6, 0.3, 0.8))
    if kind == "quiet":  # indistinguishable from the customer's own payments
        return make((1, 2), 0.0, "habit", False, ("relative", 0.0, 0.7), None, None, None)
    # The holiday season's new tactics: each hides in a different way, none stands out by its
    # amount or its place (what a model could learn from any world); what it favours is its own.
    if kind == "proxy":  # a new device behind a proxy near the victim, usual amounts
        return make((1, int(rng.integers(2, 5))), float(rng.uniform(30, 150)), "online", True,
                    relative(-0.3, 0.6, 0.4, 0.7))
    if kind == "hijack":  # the victim's own device, taken over through a phishing session
        return make((1, int(rng.integers(2, 5))), float(rng.uniform(10, 90)), "online", False,
                    relative(-0.2, 0.8, 0.4, 0.7))
    if kind == "skimming":  # a card cloned in a local shop, used in the victim's own city
        return make((1, int(rng.integers(2, 5))), float(rng.uniform(20, 120)), "present", False,
                    relative(-0.2, 0.8, 0.3, 0.7))
    if kind == "relay":  # a contactless card relayed from the victim's pocket to a nearby till
        return make((1, int(rng.integers(2, 5))), float(rng.uniform(3, 30)), "present", False,
                    relative(-0.6, 0.4, 0.3, 0.6))
    raise ValueError(kind)


NEW_TACTICS = ("proxy", "hijack", "skimming", "relay")


def world(public_seed: int) -> World:
    """The instance's world, from its public seed."""
    rng = _stream(public_seed, _WORLD)
    countries = _choice(rng, len(HOME_COUNTRIES), int(rng.integers(4, 8)))
    home_set = {HOME_COUNTRIES[i] for i in countries}
    homes = [i for i in range(EUROPE) if CITIES[i][1] in home_set]
    if len(homes) > 18:
        homes = sorted(homes[i] for i in _choice(rng, len(homes), 18))
    home_p = rng.gamma(1.5, 1.0, size=len(homes))
    # Trips: mostly Europe, sometimes further; every world has its favourite destinations.
    travel = rng.gamma(0.7, 1.0, size=len(CITIES)) * np.where(
        np.arange(len(CITIES)) < EUROPE, float(rng.uniform(2.0, 6.0)), 1.0)
    # Fraud origins: a few countries outside the home countries, anywhere.
    abroad = [c for c in COUNTRIES if c not in home_set]
    origin_countries = {abroad[i] for i in _choice(rng, len(abroad), int(rng.integers(2, 6)))}
    origins = [i for i, city in enumerate(CITIES) if city[1] in origin_countries]
    origin_p = rng.gamma(1.0, 1.0, size=len(origins))
    weight = BASE_WEIGHT * np.exp(rng.normal(0.0, 0.6, size=len(CATEGORIES)))
    scale = BASE_SCALE * np.exp(rng.normal(0.0, 0.5, size=len(CATEGORIES)))
    online_bias = np.exp(rng.normal(0.0, 0.6, size=len(CATEGORIES)))
    origins, origin_p = tuple(origins), tuple(float(x) for x in origin_p / origin_p.sum())
    kinds = ["takeover", "testing", "counterfeit", "quiet"]
    tactics = tuple(_tactic(rng, kind, origins, origin_p) for kind in kinds)
    tactic_p = rng.dirichlet([4.0, 3.0, 3.0, 1.5])
    online_mean = float(rng.uniform(0.2, 0.45))
    session = float(rng.uniform(0.04, 0.12))
    return World(
        homes=tuple(homes), home_p=tuple(float(x) for x in home_p / home_p.sum()),
        travel_cdf=tuple(np.cumsum(travel).tolist()),
        weight=weight / weight.sum(), scale=scale, online_bias=online_bias,
        amount_mu=float(rng.uniform(2.9, 3.7)), peak_mu=float(rng.uniform(12.0, 17.0)),
        online_ab=(4.0 * online_mean, 4.0 * (1 - online_mean)),
        vpn_share=float(rng.uniform(0.03, 0.12)), second_device=float(rng.uniform(0.2, 0.6)),
        session=session, trip_gap=float(rng.uniform(20.0, 45.0)),
        phone_gap=float(rng.uniform(80.0, 300.0)),
        fraud_rate=_episode_rate(float(rng.uniform(0.02, 0.03)), session, tactics, tactic_p),
        tactics=tactics,
        tactic_p=tuple(float(x) for x in tactic_p))


def _episode_rate(share: float, session: float, tactics: tuple[Tactic, ...], p: np.ndarray
                  ) -> float:
    """Fraud episodes per customer per day that make `share` of the payments fraud."""
    payments = 0.22 * (1 + 2.5 * session)  # a customer's genuine payments a day, on average
    per_episode = sum(q * (t.count[0] + max(t.count[1] - 1, t.count[0])) / 2
                      for q, t in zip(p, tactics, strict=True))
    return share / (1 - share) * payments / per_episode


def season(hidden_seed: int, w: World) -> Season:
    """The instance's holiday season, from its hidden seed: nothing in the public data shows it.
    How much it changes spending and travel is drawn too, around the world's own habits."""
    rng = _stream(hidden_seed, _SEASON)
    boost = np.ones(len(CATEGORIES))
    for i in _choice(rng, len(CATEGORIES), int(rng.integers(3, 7))):
        boost[i] = float(rng.uniform(1.6, 4.5))
    kind = NEW_TACTICS[int(rng.integers(len(NEW_TACTICS)))]
    return Season(
        boost=boost, amount=float(rng.uniform(0.85, 1.5)), busy=float(rng.uniform(1.0, 1.5)),
        session=min(0.35, w.session * float(rng.uniform(0.6, 3.0))),
        trip_gap=w.trip_gap * float(rng.uniform(0.4, 1.6)),
        new_phones=float(rng.uniform(0.05, 0.5)),
        fraud_factor=float(rng.uniform(1.5, 2.2)), tactic=_tactic(rng, kind, (), ()),
        tactic_share=float(rng.uniform(0.4, 0.65)))


# --------------------------------------------------------------------------- customers

class _Customer:
    def __init__(self, rng: np.random.Generator, w: World, cid: str, tag: str) -> None:
        self.id = cid
        self.rng = rng
        self.tag = tag
        self.home = w.homes[_pick_p(rng, w.home_p)]
        self.rate = float(rng.gamma(2.0, 0.11))  # transactions a day
        self.scale = float(np.exp(rng.normal(w.amount_mu, 0.6)))  # typical amount, in euros
        self.peak_hour = float(np.clip(rng.normal(w.peak_mu, 2.5), 7, 22))
        self.hour_spread = float(rng.uniform(2.0, 4.0))
        self.online_share = float(rng.beta(*w.online_ab))
        self.prefs = rng.dirichlet(w.weight * 40.0)
        self.cdf = np.cumsum(self.prefs).tolist()
        self.account_age = int(rng.integers(20, 3000))
        # Some customers shop online through a VPN: their IP sits in another country.
        self.vpn = _pick(rng, w.travel_cdf) if rng.random() < w.vpn_share else None
        # (since, device): the phone in use from `since` on; a second device is used now and then.
        self.phones = [(-1e12, self.new_device())]
        self.other = self.new_device() if rng.random() < w.second_device else None

    def new_device(self) -> str:
        return f"d-{self.tag}-{int(self.rng.integers(16**8)):08x}"

    def device_at(self, ts: float) -> str:
        if self.other is not None and self.rng.random() < 0.25:
            return self.other
        return [d for since, d in self.phones if since <= ts][-1]


def _pick(rng: np.random.Generator, cdf) -> int:
    return min(bisect.bisect_right(cdf, rng.random() * cdf[-1]), len(cdf) - 1)


def _pick_p(rng: np.random.Generator, p) -> int:
    return min(bisect.bisect_right(np.cumsum(p).tolist(), rng.random()), len(p) - 1)


def _time_of_day(rng: np.random.Generator, c: _Customer) -> float:
    if rng.random() < 0.06:  # now and then, any time of day
        return float(rng.uniform(0, 24))
    return min(max(float(rng.normal(c.peak_hour, c.hour_spread)), 6.0), 23.99)


def _amount(rng: np.random.Generator, c: _Customer, w: World, cat: int, boost: float) -> float:
    value = c.scale * w.scale[cat] * boost * float(np.exp(rng.normal(0.0, 0.7)))
    return round(max(0.5, min(float(value), 9500.0)), 2)


def _channel(rng: np.random.Generator, c: _Customer, w: World, cat: int) -> str:
    if CATEGORIES[cat] in ONLINE_ONLY:
        return "online"
    if rng.random() < min(0.9, c.online_share * w.online_bias[cat]):
        return "online"
    return "contactless" if rng.random() < 0.55 else "in_store"


def _jitter(rng: np.random.Generator, city: int, km: float) -> tuple[float, float]:
    _, _, lat, lon = CITIES[city]
    dlat = float(rng.normal(0, km / 111.0))
    dlon = float(rng.normal(0, km / 111.0 / max(0.2, math.cos(math.radians(lat)))))
    return (round(min(max(lat + dlat, -89.9), 89.9), 4),
            round(min(max(lon + dlon, -179.9), 179.9), 4))


def _place(e: dict, rng: np.random.Generator, c: _Customer) -> dict:
    if e["channel"] == "online":
        e["device"] = c.device_at(e["ts"])
        if c.vpn is not None and rng.random() < 0.6:
            e["city"] = c.vpn
        e["lat"], e["lon"] = _jitter(rng, e["city"], 15.0)
    else:
        e["device"] = None
        e["lat"], e["lon"] = _jitter(rng, e["city"], 4.0)
    return e


def _legit_events(rng: np.random.Generator, c: _Customer, w: World, s: Season | None,
                  start: float, end: float, holiday, busy: np.ndarray, festive_days: np.ndarray
                  ) -> list[dict]:
    """A customer's genuine transactions in [start, end) seconds, unsorted."""
    # Trips: (start, end, city); the first hours of a trip are spent travelling.
    trips = []
    t = start + float(rng.exponential(w.trip_gap)) * DAY
    while t < end:
        length = float(rng.uniform(2, 8)) * DAY
        city = _pick(rng, w.travel_cdf)
        if city != c.home:
            trips.append((t, t + length, city))
        gap = s.trip_gap if s is not None and holiday(t) else w.trip_gap
        t += length + float(rng.exponential(gap)) * DAY
    # A new phone now and then, and more often as a present.
    t = start + float(rng.exponential(w.phone_gap)) * DAY
    while t < end:
        c.phones.append((t, c.new_device()))
        t += float(rng.exponential(w.phone_gap)) * DAY
    if s is not None and rng.random() < s.new_phones:
        t = (FESTIVE[0] + float(rng.uniform(20, 40))) * DAY
        if start <= t < end:
            c.phones.append((t, c.new_device()))
            c.phones.sort()
    festive_cdf = None
    if s is not None:
        festive_cdf = np.cumsum(c.prefs * s.boost).tolist()
    events = []
    first_day = math.floor(start / DAY)
    counts = rng.poisson(c.rate * busy)
    for offset in np.flatnonzero(counts).tolist():
        day, count, festive = first_day + offset, counts[offset], bool(festive_days[offset])
        cdf = festive_cdf if festive else c.cdf
        session_p = s.session if festive else w.session
        for _ in range(int(count)):
            ts = day * DAY + _time_of_day(rng, c) * 3600.0
            if not start <= ts < end:
                continue
            city = c.home
            for t0, t1, trip_city in trips:
                if t0 <= ts < t1:
                    city = -1 if ts < t0 + 6 * 3600 else trip_city
                    break
            if city == -1:
                continue
            session = 1 + (int(rng.integers(1, 5)) if rng.random() < session_p else 0)
            for k in range(session):
                if k:
                    ts += float(rng.uniform(3, 50)) * 60.0
                cat = _pick(rng, cdf)
                e = {"ts": ts, "city": city, "cat": cat, "fraud": 0,
                     "amount": _amount(rng, c, w, cat, s.amount if festive else 1.0),
                     "channel": _channel(rng, c, w, cat)}
                events.append(_place(e, rng, c))
    return events


def _fraud_place(rng: np.random.Generator, c: _Customer, w: World, t: Tactic) -> int:
    if t.where == "origin" and rng.random() < t.far:
        return t.origins[_pick_p(rng, t.origin_p)]
    if t.where == "origin":  # from the home region, not the victim's own city
        others = [h for h in w.homes if h != c.home]
        return others[int(rng.integers(len(others)))] if others else c.home
    if t.where == "travel":
        return _pick(rng, w.travel_cdf)
    return c.home


def _fraud_episode(rng: np.random.Generator, c: _Customer, w: World, t: Tactic, day: int
                   ) -> list[dict]:
    if t.hour is None:
        hour = _time_of_day(rng, c)
    else:
        hour = min(max(t.hour[0] + float(rng.normal(0, t.hour[1])), 6.0), 23.99)
    ts = (day + hour / 24.0) * DAY
    attacker = c.new_device()  # looks like any other device id
    city = _fraud_place(rng, c, w, t)
    n = int(rng.integers(*t.count)) if t.count[1] > t.count[0] else t.count[0]
    events = []
    for k in range(n):
        cat = _pick(rng, c.cdf) if t.cats is None else t.cats[_pick_p(rng, t.cat_p)]
        if t.amount[0] == "small":
            low, high = t.amount[1], t.amount[2]
            amount = (float(rng.uniform(low, high)) if k < n - 1
                      else float(rng.uniform(high, high * 8)))
        else:
            amount = c.scale * w.scale[cat] * float(np.exp(rng.normal(t.amount[1], t.amount[2])))
        e = {"ts": ts, "city": city, "cat": cat, "fraud": 1,
             "amount": round(max(0.5, min(float(amount), 9500.0)), 2)}
        if t.channel == "habit":
            e["channel"] = _channel(rng, c, w, cat)
            events.append(_place(e, rng, c))
        elif t.channel == "present" and CATEGORIES[cat] not in ONLINE_ONLY:
            e["channel"] = "in_store" if rng.random() < t.present_share else "contactless"
            e["device"] = None
            e["lat"], e["lon"] = _jitter(rng, city, 30.0 if t.where == "near" else 4.0)
            events.append(e)
        else:
            e["channel"] = "online"
            e["device"] = attacker if t.attacker_device else c.device_at(ts)
            e["lat"], e["lon"] = _jitter(rng, city, 30.0 if t.where == "near" else 15.0)
            events.append(e)
        ts += float(rng.exponential(t.gap)) * 60.0 + 30.0
    return events


def _iso(seconds: float) -> str:
    return (EPOCH + timedelta(seconds=int(seconds))).isoformat()


def _rows(c: _Customer, events: list[dict], periods: dict[str, tuple[int, int]],
          slices: bool) -> dict[str, list[dict]]:
    """Turn one customer's events into rows with the feature store's raw context."""
    _, home_country, home_lat, home_lon = CITIES[c.home]
    events.sort(key=lambda e: (e["ts"], e["fraud"]))
    bounds = [(name, a * DAY, b * DAY) for name, (a, b) in periods.items()]
    out: dict[str, list[dict]] = {name: [] for name in periods}
    first_seen: dict[str, float] = {}
    history: list[dict] = []
    times: list[float] = []
    amounts: list[float] = []
    # The history is in time order: each window is a suffix, its start only moves forward.
    hour_start = day_start = quarter_start = 0
    for e in events:
        ts = e["ts"]
        name = next((n for n, a, b in bounds if a <= ts < b), None)
        if name is not None:
            n = len(history)
            while hour_start < n and ts - times[hour_start] > 3600.0:
                hour_start += 1
            while day_start < n and ts - times[day_start] > DAY:
                day_start += 1
            while quarter_start < n and ts - times[quarter_start] > 90 * DAY:
                quarter_start += 1
            window = max(day_start, n - 60)  # the feature store keeps 60 payments a day
            past = amounts[max(quarter_start, n - 200):]
            prev = history[-1] if history else None
            known = sorted((d for d, t in first_seen.items() if ts - t >= 7 * DAY),
                           key=lambda d: first_seen[d])[-5:]
            row = {
                "transaction_id": f"t{c.tag}-{c.id[-5:]}-{n:05d}",
                "customer_id": c.id,
                "timestamp": _iso(ts),
                "amount": e["amount"],
                "merchant_category": CATEGORIES[e["cat"]],
                "channel": e["channel"],
                "country": CITIES[e["city"]][1],
                "lat": e["lat"],
                "lon": e["lon"],
                "device_id": e["device"],
                "home_country": home_country,
                "home_lat": home_lat,
                "home_lon": home_lon,
                "account_age_days": c.account_age + int(ts // DAY),
                "known_devices": known,
                "avg_amount_90d": round(sum(past) / len(past), 2) if past else None,
                "prev_timestamp": _iso(prev["ts"]) if prev else None,
                "prev_country": CITIES[prev["city"]][1] if prev else None,
                "prev_lat": prev["lat"] if prev else None,
                "prev_lon": prev["lon"] if prev else None,
                "txn_count_1h": n - max(hour_start, window),
                "txn_count_24h": n - window,
                "amount_sum_24h": round(float(sum(amounts[window:])), 2),
            }
            if slices:
                row["slice"] = name
            row[LABEL] = e["fraud"]
            out[name].append(row)
        history.append(e)
        times.append(ts)
        amounts.append(e["amount"])
        if e["device"] is not None and e["device"] not in first_seen:
            first_seen[e["device"]] = ts
    return out


def _simulate(w: World, s: Season | None, seed: int, periods: dict[str, tuple[int, int]],
              customers: int, slices: bool) -> dict[str, list[dict]]:
    """Customers' whole timelines from 30 days before the first period; rows inside periods."""
    rng = _stream(seed, _PEOPLE)
    # Ids carry a tag derived from the seed, so two seeds never share a customer or a device id,
    # and the rows a candidate's code sees do not reveal the seed.
    tag = hashlib.sha256(f"fraud_detection:{seed}".encode()).hexdigest()[:8]
    start = (min(a for a, _ in periods.values()) - 30) * DAY
    end = max(b for _, b in periods.values()) * DAY

    def holiday(ts: float) -> bool:
        return s is not None and FESTIVE[0] * DAY <= ts < FESTIVE[1] * DAY

    out: dict[str, list[dict]] = {name: [] for name in periods}
    first_day = math.floor(start / DAY)
    days = np.arange(first_day, math.ceil(end / DAY))
    festive_days = np.array([holiday(d * DAY) for d in days])
    busy = np.where(festive_days, s.busy if s is not None else 1.0, 1.0)
    lam = w.fraud_rate * np.where(festive_days, s.fraud_factor if s is not None else 1.0, 1.0)
    for i in range(customers):
        c = _Customer(rng, w, f"c{tag}-{i:05d}", tag)
        events = _legit_events(rng, c, w, s, start, end, holiday, busy, festive_days)
        counts = rng.poisson(lam)
        for offset in np.flatnonzero(counts).tolist():
            day = first_day + offset
            for _ in range(int(counts[offset])):
                if festive_days[offset] and rng.random() < s.tactic_share:
                    tactic = s.tactic
                else:
                    tactic = w.tactics[_pick_p(rng, w.tactic_p)]
                events += [e for e in _fraud_episode(rng, c, w, tactic, day)
                           if start <= e["ts"] < end]
        for name, rows in _rows(c, events, periods, slices).items():
            out[name] += rows
    for rows in out.values():
        rows.sort(key=lambda r: (r["timestamp"], r["transaction_id"]))
    return out


# --------------------------------------------------------------------------- the instance

def public_splits(public_seed: int) -> dict[str, list[dict]]:
    """The public train and dev splits (dev follows train in time), labels included."""
    return _simulate(world(public_seed), None, public_seed, PUBLIC_PERIODS, customers=450,
                     slices=False)


def hidden_rows(public_seed: int, hidden_seed: int, customers: int = 600) -> list[dict]:
    """The hidden split: a `recent` slice after the public data and a holiday `shift` slice, of
    customers the public data does not hold, in the public seed's world."""
    w = world(public_seed)
    splits = _simulate(w, season(hidden_seed, w), hidden_seed, HIDDEN_PERIODS,
                       customers=customers, slices=True)
    return splits["recent"] + splits["shift"]


def dumps(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The instance's public data (candidate.public_data): train.jsonl and dev.jsonl."""
    return {f"{name}.jsonl": dumps(rows) for name, rows in public_splits(seeds["public"]).items()}


def hidden_items(seeds: Mapping[str, int]) -> list[dict]:
    """The hidden split as the harness scores it: every row with its `is_fraud` and `slice`."""
    return hidden_rows(seeds["public"], seeds["hidden"])


def published_seeds() -> dict[str, int]:
    """The seeds assignment.yaml publishes (the demo instance)."""
    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "assignment.yaml").read_text())
    return {k: int(v) for k, v in spec["reproducibility"]["seeds"].items()}


def write_public(folder: Path, seeds: Mapping[str, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in public_files(seeds).items():
        (folder / name).write_bytes(content)


if __name__ == "__main__":
    write_public(Path(sys.argv[1] if len(sys.argv) > 1 else "candidate/data"), published_seeds())
