"""The normal side of the synthetic log: countries, customers, keys, machines and their
everyday traffic (see synthetic.py for why). All counts are drawn per machine and day, all
times within a day from a local-time office-hours profile shifted by the country's UTC offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# (ISO code, UTC offset in hours), roughly by share of software buyers.
COUNTRIES = (("US", -6), ("DE", 1), ("GB", 0), ("FR", 1), ("IN", 5), ("JP", 9), ("CA", -5),
             ("BR", -3), ("NL", 1), ("AU", 10), ("SE", 1), ("IT", 1), ("ES", 1), ("PL", 1),
             ("CN", 8), ("KR", 9), ("CH", 1), ("MX", -6), ("SG", 8), ("NO", 1), ("DK", 1),
             ("FI", 2), ("AT", 1), ("BE", 1), ("IE", 0), ("ZA", 2), ("TR", 3), ("AR", -3),
             ("NZ", 12), ("CZ", 1))
PRODUCTS = np.array([3101, 3102, 3103, 3104, 3105])
PRODUCT_MIX = np.array([0.40, 0.25, 0.15, 0.12, 0.08])
SEATS = np.array([1, 1, 1, 2, 2, 3, 5, 10, 20])
METHODS = ("key.Activate", "key.GetKey", "key.Deactivate", "ai.RegisterEvent")
ACTIVATE, GETKEY, DEACTIVATE, EVENT = range(4)


def hour_profile() -> np.ndarray:
    """Local-hour probabilities: bumps at 10:00 and 15:00, a 3 % floor at night."""
    h = np.arange(24) + 0.5
    p = 0.03 + np.exp(-((h - 10) ** 2) / (2 * 1.8**2)) + np.exp(-((h - 15) ** 2) / (2 * 2.0**2))
    return p / p.sum()


class Strings:
    """A growing vocabulary; `add` returns the codes of new strings."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def add(self, values: list[str]) -> np.ndarray:
        start = len(self.values)
        self.values.extend(values)
        return np.arange(start, start + len(values))


def random_keys(rng: np.random.Generator, n: int) -> list[str]:
    letters = (rng.integers(0, 26, size=(n, 20)) + 65).astype(np.uint8)
    return ["-".join(s[i:i + 5] for i in range(0, 20, 5))
            for s in (row.tobytes().decode() for row in letters)]


def random_ips(rng: np.random.Generator, n: int) -> list[str]:
    o = rng.integers(1, 255, size=(n, 4))
    o[:, 0] = rng.choice([5, 31, 37, 62, 78, 81, 86, 91, 104, 151, 176, 185, 188, 193, 213], n)
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in o]


def random_machines(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 16, size=(n, 32))
    digits = np.array(list("0123456789abcdef"))
    return ["".join(r) for r in digits[raw]]


@dataclass
class World:
    """Entities. Per key: customer, product, floating flag, seats. Per machine: key, server,
    laptop, daily rate, first/last active day, IP and home IP codes."""

    t0: float
    days: int
    strings: dict[str, Strings]
    country_offset: np.ndarray
    country_pop: np.ndarray
    cust_country: np.ndarray
    cust_ips: list[np.ndarray]
    key_code: np.ndarray
    key_customer: np.ndarray
    key_product: np.ndarray
    key_floating: np.ndarray
    key_seats: np.ndarray
    m_key: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_friendly: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_server: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    m_laptop: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    m_rate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    m_first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_last: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_ip: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    m_home_ip: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    key_expiry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    key_late: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def key_country(self, k: int | np.ndarray) -> Any:
        """The country of key `k` (its customer's); an array of them for an array of keys."""
        return self.cust_country[self.key_customer[k]]

    def add_machines(self, rng: np.random.Generator, keys: np.ndarray, **attrs: np.ndarray
                     ) -> np.ndarray:
        """Append machines of `keys`; returns their indices."""
        n = len(keys)
        codes = self.strings["machine"].add(random_machines(rng, n))
        names = self.strings["friendly"].add([f"DESKTOP-{c[:6].upper()}" for c in
                                              np.array(self.strings["machine"].values)[codes]])
        start = len(self.m_key)
        defaults = {"m_server": np.zeros(n, bool), "m_laptop": np.zeros(n, bool),
                    "m_rate": np.zeros(n), "m_first": np.zeros(n, np.int64),
                    "m_last": np.full(n, self.days - 1), "m_ip": np.zeros(n, np.int64),
                    "m_home_ip": np.zeros(n, np.int64)}
        defaults.update(attrs)
        self.m_key = np.r_[self.m_key, keys]
        self.m_code = np.r_[self.m_code, codes]
        self.m_friendly = np.r_[self.m_friendly, names]
        for name, value in defaults.items():
            setattr(self, name, np.r_[getattr(self, name), value])
        return np.arange(start, start + n)


def build_world(rng: np.random.Generator, *, customers: int, days: int, t0: float) -> World:
    strings = {k: Strings() for k in ("key", "ip", "machine", "friendly", "method", "country")}
    strings["method"].add(list(METHODS))
    strings["country"].add([c for c, _ in COUNTRIES])
    pop = 1.0 / np.arange(1, len(COUNTRIES) + 1) ** 1.1
    pop /= pop.sum()
    cust_country = rng.choice(len(COUNTRIES), customers, p=pop)
    n_ips = rng.integers(1, 4, customers)
    ip_codes = strings["ip"].add(random_ips(rng, int(n_ips.sum())))
    cust_ips = np.split(ip_codes, np.cumsum(n_ips)[:-1])
    n_keys = 1 + rng.poisson(0.4, customers)
    key_customer = np.repeat(np.arange(customers), n_keys)
    nk = len(key_customer)
    world = World(t0, days, strings, np.array([o for _, o in COUNTRIES], dtype=np.float64),
                  pop, cust_country, cust_ips, strings["key"].add(random_keys(rng, nk)),
                  key_customer, rng.choice(PRODUCTS, nk, p=PRODUCT_MIX), rng.random(nk) < 0.08,
                  rng.choice(SEATS, nk))
    world.key_seats[world.key_floating] = rng.integers(2, 11, world.key_floating.sum())
    _add_machines(world, rng)
    return world


def _add_machines(world: World, rng: np.random.Generator) -> None:
    nk = len(world.key_code)
    floating = world.key_floating
    n_m = np.where(floating, np.ceil(1.5 * world.key_seats).astype(np.int64),
                   np.maximum(rng.binomial(np.minimum(world.key_seats, 8), 0.85), 1))
    keys = np.repeat(np.arange(nk), n_m)
    n = len(keys)
    server = (rng.random(n) < 0.05) & ~floating[keys]
    laptop = ~server & (rng.random(n) < 0.2)
    rate = np.where(server, 24.0, rng.gamma(2.0, 2.5, n))
    rate = np.where(floating[keys], rate * 0.5, rate)
    ips = world.cust_ips
    cust = world.key_customer[keys]
    office = np.array([ips[c][rng.integers(len(ips[c]))] for c in cust])
    home = world.strings["ip"].add(random_ips(rng, n))
    first = np.zeros(n, np.int64)
    late = rng.random(nk) < 0.05  # keys bought during the period: machines are new
    late_day = rng.integers(1, max(world.days - 2, 2), nk)
    first = np.where(late[keys], late_day[keys], first)
    world.key_late = late
    world.key_expiry = np.where(rng.random(nk) < 0.005,
                                rng.integers(2, max(world.days - 1, 3), nk), world.days + 1)
    world.add_machines(rng, keys, m_server=server, m_laptop=laptop, m_rate=rate,
                       m_first=first, m_ip=office, m_home_ip=home)


@dataclass
class Events:
    """Column chunks of log rows; `label` is the injected instance (-1: normal)."""

    world: World
    chunks: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, *, time: np.ndarray, key: object, machine: object, ip: object,
            country: object, state: object, method: object, product: object,
            expires: object = np.nan, label: int = -1) -> None:
        """Rows; scalars broadcast. FriendlyName codes equal MachineCode codes (the two
        vocabularies grow together in World.add_machines)."""
        n = len(time)
        key = np.broadcast_to(np.asarray(key), n)
        machine = np.broadcast_to(np.asarray(machine), n)
        chunk = {"time": np.asarray(time, dtype=np.float64), "key": key, "machine": machine,
                 "ip": np.broadcast_to(np.asarray(ip), n),
                 "country": np.broadcast_to(np.asarray(country), n),
                 "state": np.broadcast_to(np.asarray(state), n),
                 "method": np.broadcast_to(np.asarray(method), n),
                 "friendly": machine,
                 "expires": np.broadcast_to(np.asarray(expires, dtype=np.float64), n),
                 "product": np.broadcast_to(np.asarray(product), n),
                 "label": np.full(n, label)}
        self.chunks.append(chunk)

    def columns(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([c[k] for c in self.chunks]) for k in self.chunks[0]}
