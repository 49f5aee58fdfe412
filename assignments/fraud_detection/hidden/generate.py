"""Deterministic generator of card transactions for the fraud_detection assignment.

Trusted code: it lives in hidden/ and never reaches a candidate. The public train and dev splits in
candidate/data/ are its output for PUBLIC_SEED (regenerate them with
`python hidden/generate.py candidate/data`); the harness generates the hidden split in memory from
the deployment's private seed, so candidates never see hidden rows or their labels.

The world: customers of a European card issuer, each with a home city, a handful of devices, usual
amounts, usual hours and favourite merchant categories. They shop in store, contactless and online,
sometimes in bursts, sometimes while travelling, and sometimes on a new phone. Fraud comes in
episodes on one account: account takeover (a new device, often abroad, larger amounts), card testing
(a burst of tiny online charges) and counterfeit cards (in store, far from where the customer just
was), plus a share that looks entirely normal.

Each row is what a real-time scoring service receives: the transaction, the customer's profile and
the feature store's raw context (the previous transaction, velocity counts, devices seen more than a
week ago). Nothing is engineered: distances, travel speed, device novelty and amount ratios are left
to the candidate.

The hidden split has two slices: `recent` (the weeks after the public data, same behaviour) and
`shift` (the holiday season: customers travel and shop in bursts far more and spend more, and
fraudsters move to residential proxies near the victim: a new device, amounts close to the victim's
usual ones).

The output depends only on the seed and on numpy's Generator streams (numpy is pinned in the
grader's lock); tests/assignments/test_fraud_detection.py checks the committed files against it.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

PUBLIC_SEED = 20240101
LABEL = "is_fraud"

# (city, country, lat, lon); homes are drawn from the first HOME_CITIES entries.
CITIES = [
    ("Berlin", "DE", 52.52, 13.40), ("Munich", "DE", 48.14, 11.58), ("Hamburg", "DE", 53.55, 9.99),
    ("Cologne", "DE", 50.94, 6.96), ("Paris", "FR", 48.86, 2.35), ("Lyon", "FR", 45.76, 4.84),
    ("Marseille", "FR", 43.30, 5.37), ("Amsterdam", "NL", 52.37, 4.90),
    ("Rotterdam", "NL", 51.92, 4.48), ("Madrid", "ES", 40.42, -3.70),
    ("Barcelona", "ES", 41.39, 2.17), ("Milan", "IT", 45.46, 9.19), ("Rome", "IT", 41.90, 12.50),
    ("Vienna", "AT", 48.21, 16.37), ("Brussels", "BE", 50.85, 4.35),
    ("London", "GB", 51.51, -0.13), ("Dublin", "IE", 53.35, -6.26), ("Lisbon", "PT", 38.72, -9.14),
    ("Warsaw", "PL", 52.23, 21.01), ("Prague", "CZ", 50.08, 14.44),
    ("Stockholm", "SE", 59.33, 18.07), ("Copenhagen", "DK", 55.68, 12.57),
    ("Athens", "GR", 37.98, 23.73), ("Zurich", "CH", 47.37, 8.54),
    ("New York", "US", 40.71, -74.01), ("Miami", "US", 25.76, -80.19),
    ("Lagos", "NG", 6.52, 3.38), ("Bucharest", "RO", 44.43, 26.10), ("Kyiv", "UA", 50.45, 30.52),
    ("Sao Paulo", "BR", -23.55, -46.63), ("Jakarta", "ID", -6.21, 106.85),
    ("Manila", "PH", 14.60, 120.98), ("Dubai", "AE", 25.20, 55.27),
    ("Bangkok", "TH", 13.76, 100.50),
]
HOME_CITIES = 15
# Where people travel (and where VPN exits are): mostly Europe, sometimes further.
TRAVEL_WEIGHT = np.array([3.0] * 24 + [1.0] * (len(CITIES) - 24))
TRAVEL_CDF = np.cumsum(TRAVEL_WEIGHT).tolist()
CATEGORIES = [
    "grocery", "restaurants", "fuel", "pharmacy", "clothing", "electronics", "travel",
    "entertainment", "digital_goods", "gift_cards", "jewelry", "money_transfer", "utilities",
]
CHANNELS = ["in_store", "contactless", "online"]
# Everyday spending: how often each category appears and its typical amount relative to the
# customer's own scale.
CATEGORY_WEIGHT = np.array([30, 18, 9, 5, 8, 3, 2, 6, 6, 1.5, 0.6, 2, 5], dtype=float)
CATEGORY_SCALE = np.array([1.0, 0.8, 1.2, 0.6, 1.6, 4.0, 6.0, 0.9, 0.5, 1.5, 5.0, 3.0, 2.0])
ONLINE_ONLY = {"digital_goods", "utilities", "money_transfer"}
ONLINE_LEANING = {"travel", "gift_cards", "entertainment", "electronics"}

DAY = 86400.0
EPOCH = datetime(2024, 1, 1)
# Periods in days from EPOCH: a warm-up fills the feature store before rows are emitted.
PUBLIC_PERIODS = {"train": (30, 150), "dev": (150, 180)}
HIDDEN_PERIODS = {"recent": (211, 239), "shift": (330, 358)}
FESTIVE = (320, 366)  # the holiday season, in days from EPOCH


class _Customer:
    def __init__(self, rng: np.random.Generator, cid: str, tag: str) -> None:
        self.id = cid
        self.rng = rng
        self.tag = tag
        self.home = int(rng.integers(HOME_CITIES))
        self.rate = float(rng.gamma(2.0, 0.11))  # transactions a day
        self.scale = float(np.exp(rng.normal(3.3, 0.6)))  # typical amount, in euros
        self.peak_hour = float(np.clip(rng.normal(14.5, 2.5), 8, 21))
        self.hour_spread = float(rng.uniform(2.0, 4.0))
        self.online_share = float(rng.beta(2.0, 4.0))
        self.prefs = rng.dirichlet(CATEGORY_WEIGHT / 2.0)
        self.cdf = np.cumsum(self.prefs).tolist()
        self.festive_cdf = np.cumsum(_festive(self.prefs)).tolist()
        self.account_age = int(rng.integers(20, 3000))
        # Some customers shop online through a VPN: their IP sits in another country.
        self.vpn = _pick(rng, TRAVEL_CDF) if rng.random() < 0.08 else None
        # (since, device): the phone in use from `since` on; a second device is used now and then.
        self.phones = [(-1e12, self.new_device())]
        self.other = self.new_device() if rng.random() < 0.4 else None

    def new_device(self) -> str:
        return f"d-{self.tag}-{int(self.rng.integers(16**8)):08x}"

    def device_at(self, ts: float) -> str:
        if self.other is not None and self.rng.random() < 0.25:
            return self.other
        return [d for since, d in self.phones if since <= ts][-1]


def _pick(rng: np.random.Generator, cdf: list[float]) -> int:
    return min(bisect.bisect_right(cdf, rng.random() * cdf[-1]), len(cdf) - 1)


def _hour(rng: np.random.Generator, c: _Customer) -> float:
    if rng.random() < 0.06:  # now and then, any time of day
        return float(rng.uniform(0, 24))
    return min(max(float(rng.normal(c.peak_hour, c.hour_spread)), 6.0), 23.99)


def _amount(rng: np.random.Generator, c: _Customer, cat: int, boost: float) -> float:
    value = c.scale * CATEGORY_SCALE[cat] * boost * float(np.exp(rng.normal(0.0, 0.7)))
    return round(max(0.5, min(float(value), 9500.0)), 2)


def _channel(rng: np.random.Generator, c: _Customer, category: str) -> str:
    if category in ONLINE_ONLY:
        return "online"
    share = min(0.9, c.online_share * (2.0 if category in ONLINE_LEANING else 1.0))
    if rng.random() < share:
        return "online"
    return "contactless" if rng.random() < 0.55 else "in_store"


def _jitter(rng: np.random.Generator, city: int, km: float) -> tuple[float, float]:
    _, _, lat, lon = CITIES[city]
    dlat = float(rng.normal(0, km / 111.0))
    dlon = float(rng.normal(0, km / 111.0 / max(0.2, math.cos(math.radians(lat)))))
    return round(lat + dlat, 4), round(lon + dlon, 4)


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


def _legit_events(rng: np.random.Generator, c: _Customer, start: float, end: float,
                  holiday, busy: np.ndarray) -> list[dict]:
    """A customer's genuine transactions in [start, end) seconds, unsorted."""
    # Trips: (start, end, city); the first hours of a trip are spent travelling.
    trips = []
    t = start + float(rng.exponential(30.0)) * DAY
    while t < end:
        length = float(rng.uniform(2, 8)) * DAY
        city = _pick(rng, TRAVEL_CDF)
        if city != c.home:
            trips.append((t, t + length, city))
        t += length + float(rng.exponential(10.0 if holiday(t) else 30.0)) * DAY
    # A new phone now and then.
    t = start + float(rng.exponential(150.0)) * DAY
    while t < end:
        c.phones.append((t, c.new_device()))
        t += float(rng.exponential(150.0)) * DAY
    events = []
    first_day = math.floor(start / DAY)
    counts = rng.poisson(c.rate * busy)
    for offset in np.flatnonzero(counts).tolist():
        day, count, festive = first_day + offset, counts[offset], busy[offset] > 1.0
        cdf = c.festive_cdf if festive else c.cdf
        for _ in range(int(count)):
            ts = day * DAY + _hour(rng, c) * 3600.0
            if not start <= ts < end:
                continue
            city = c.home
            for t0, t1, trip_city in trips:
                if t0 <= ts < t1:
                    city = -1 if ts < t0 + 6 * 3600 else trip_city
                    break
            if city == -1:
                continue
            session = 1 + (int(rng.integers(1, 5)) if rng.random() < (0.22 if festive else 0.08)
                           else 0)
            for k in range(session):
                if k:
                    ts += float(rng.uniform(3, 50)) * 60.0
                cat = _pick(rng, cdf)
                e = {"ts": ts, "city": city, "cat": cat, "fraud": 0, "kind": "legit",
                     "amount": _amount(rng, c, cat, 1.35 if festive else 1.0),
                     "channel": _channel(rng, c, CATEGORIES[cat])}
                events.append(_place(e, rng, c))
    return events


def _festive(prefs: np.ndarray) -> np.ndarray:
    """Presents, trips and nights out."""
    prefs = prefs.copy()
    for name, factor in (("gift_cards", 4.0), ("electronics", 2.5), ("jewelry", 3.0),
                         ("travel", 2.0), ("clothing", 1.6), ("entertainment", 1.5)):
        prefs[CATEGORIES.index(name)] *= factor
    return prefs / prefs.sum()


def _fraud_episode(rng: np.random.Generator, c: _Customer, ts: float, festive: bool) -> list[dict]:
    if festive:
        kind = str(rng.choice(["ato", "testing", "counterfeit", "quiet", "proxy_ato"],
                              p=[0.14, 0.14, 0.14, 0.10, 0.48]))
    else:
        kind = str(rng.choice(["ato", "testing", "counterfeit", "quiet"],
                              p=[0.38, 0.24, 0.26, 0.12]))
    attacker = c.new_device()  # looks like any other device id
    if kind in ("ato", "testing"):
        city = (int(rng.integers(HOME_CITIES, len(CITIES))) if rng.random() < 0.7
                else int(rng.integers(HOME_CITIES)))
    elif kind == "counterfeit":
        city = _pick(rng, TRAVEL_CDF)
    else:
        city = c.home
    n, gap, cats = {
        "ato": (int(rng.integers(1, 5)), 20.0,
                ["electronics", "gift_cards", "digital_goods", "money_transfer"]),
        "proxy_ato": (int(rng.integers(1, 4)), 90.0,
                      ["money_transfer", "gift_cards", "clothing", "grocery"]),
        "testing": (int(rng.integers(3, 9)), 3.0, ["digital_goods", "entertainment"]),
        "counterfeit": (int(rng.integers(1, 4)), 40.0, ["electronics", "jewelry", "clothing"]),
        "quiet": (1, 0.0, None),
    }[kind]
    events = []
    for k in range(n):
        cat = _pick(rng, c.cdf) if cats is None else CATEGORIES.index(str(rng.choice(cats)))
        if kind == "ato":
            amount = c.scale * float(np.exp(rng.normal(1.6, 0.7))) * CATEGORY_SCALE[cat] ** 0.5
        elif kind == "proxy_ato":
            amount = c.scale * CATEGORY_SCALE[cat] * float(np.exp(rng.normal(0.2, 0.6)))
        elif kind == "testing":
            amount = float(rng.uniform(0.5, 4.0)) if k < n - 1 else float(rng.uniform(5, 60))
        elif kind == "counterfeit":
            amount = c.scale * CATEGORY_SCALE[cat] * float(np.exp(rng.normal(0.9, 0.5)))
        else:
            amount = _amount(rng, c, cat, 1.0)
        e = {"ts": ts, "city": city, "cat": cat, "fraud": 1, "kind": kind,
             "amount": round(max(0.5, min(float(amount), 9500.0)), 2)}
        if kind == "counterfeit":
            e["channel"] = "in_store" if rng.random() < 0.7 else "contactless"
            events.append(_place(e, rng, c))
        elif kind == "quiet":
            e["channel"] = _channel(rng, c, CATEGORIES[cat])
            events.append(_place(e, rng, c))
        else:
            e["channel"], e["device"] = "online", attacker
            e["lat"], e["lon"] = _jitter(rng, city, 30.0 if kind == "proxy_ato" else 15.0)
            events.append(e)
        ts += float(rng.exponential(gap)) * 60.0 + 30.0
    return events


def _iso(seconds: float) -> str:
    return (EPOCH + timedelta(seconds=int(seconds))).isoformat()


def _rows(c: _Customer, events: list[dict], periods: dict[str, tuple[int, int]],
          slices: bool) -> dict[str, list[dict]]:
    """Turn one customer's events into rows with the feature store's raw context."""
    _, home_country, home_lat, home_lon = CITIES[c.home]
    events.sort(key=lambda e: (e["ts"], e["fraud"]))
    out: dict[str, list[dict]] = {name: [] for name in periods}
    first_seen: dict[str, float] = {}
    history: list[dict] = []
    for e in events:
        ts = e["ts"]
        name = next((n for n, (a, b) in periods.items() if a * DAY <= ts < b * DAY), None)
        if name is not None:
            prev = history[-1] if history else None
            window = [h for h in history[-60:] if ts - h["ts"] <= DAY]
            known = sorted((d for d, t in first_seen.items() if ts - t >= 7 * DAY),
                           key=lambda d: first_seen[d])[-5:]
            past = [h["amount"] for h in history[-200:] if ts - h["ts"] <= 90 * DAY]
            row = {
                "transaction_id": f"t{c.tag}-{c.id[-5:]}-{len(history):05d}",
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
                "txn_count_1h": sum(1 for h in window if ts - h["ts"] <= 3600.0),
                "txn_count_24h": len(window),
                "amount_sum_24h": round(float(sum(h["amount"] for h in window)), 2),
            }
            if slices:
                row["slice"] = name
            row[LABEL] = e["fraud"]
            out[name].append(row)
        history.append(e)
        if e["device"] is not None and e["device"] not in first_seen:
            first_seen[e["device"]] = ts
    return out


def _simulate(seed: int, periods: dict[str, tuple[int, int]], customers: int,
              festive: tuple[int, int] | None, fraud_rate: float, slices: bool
              ) -> dict[str, list[dict]]:
    """Customers' whole timelines from 30 days before the first period; rows inside periods."""
    rng = np.random.default_rng(seed)
    # Ids carry a tag derived from the seed, so two seeds never share a customer or a device id,
    # and the rows a candidate's code sees do not reveal the seed.
    tag = hashlib.sha256(f"fraud_detection:{seed}".encode()).hexdigest()[:5]
    start = (min(a for a, _ in periods.values()) - 30) * DAY
    end = max(b for _, b in periods.values()) * DAY

    def holiday(ts: float) -> bool:
        return festive is not None and festive[0] * DAY <= ts < festive[1] * DAY

    out: dict[str, list[dict]] = {name: [] for name in periods}
    first_day = math.floor(start / DAY)
    days = np.arange(first_day, math.ceil(end / DAY))
    festive_days = np.array([holiday(d * DAY) for d in days])
    busy = np.where(festive_days, 1.3, 1.0)
    lam = fraud_rate * np.where(festive_days, 1.8, 1.0)
    for i in range(customers):
        c = _Customer(rng, f"c{tag}-{i:05d}", tag)
        events = _legit_events(rng, c, start, end, holiday, busy)
        counts = rng.poisson(lam)
        for offset in np.flatnonzero(counts).tolist():
            for _ in range(int(counts[offset])):
                ts = (first_day + offset + float(rng.uniform(0, 1))) * DAY
                events += _fraud_episode(rng, c, ts, holiday(ts))
        for name, rows in _rows(c, events, periods, slices).items():
            out[name] += rows
    for rows in out.values():
        rows.sort(key=lambda r: (r["timestamp"], r["transaction_id"]))
    return out


def public_splits(seed: int = PUBLIC_SEED) -> dict[str, list[dict]]:
    """The public train and dev splits (dev follows train in time), labels included."""
    return _simulate(seed, PUBLIC_PERIODS, customers=450, festive=None, fraud_rate=0.0026,
                     slices=False)


def hidden_rows(seed: int, customers: int = 600) -> list[dict]:
    """The hidden split: a `recent` slice after the public data and a holiday `shift` slice."""
    splits = _simulate(seed, HIDDEN_PERIODS, customers=customers, festive=FESTIVE,
                       fraud_rate=0.0026, slices=True)
    return splits["recent"] + splits["shift"]


def dumps(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


def write_public(folder: Path, seed: int = PUBLIC_SEED) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in public_splits(seed).items():
        (folder / f"{name}.jsonl").write_bytes(dumps(rows))


if __name__ == "__main__":
    write_public(Path(sys.argv[1] if len(sys.argv) > 1 else "candidate/data"))
