"""Injected anomalies of the synthetic log, one function per kind of issue #8.

Each injector adds rows labelled with the instance number and returns the label. Sizes are
drawn from ranges (the reference design, section 4.2) so that some instances are subtle:
a key leaked to 20 machines over 3 days adds less than one new machine an hour.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .synthetic import AnomalyLabel
from .synthetic_world import (
    ACTIVATE,
    DEACTIVATE,
    GETKEY,
    PRODUCTS,
    Events,
    World,
    random_ips,
    random_keys,
)

HOUR = 3600.0


def _pick_key(world: World, rng: np.random.Generator, *, floating: bool = False,
              max_seats: int | None = None) -> int:
    ok = (world.key_floating == floating) & ~world.key_late & (world.key_expiry > world.days)
    if max_seats is not None:
        ok &= world.key_seats <= max_seats
    return int(rng.choice(np.flatnonzero(ok)))


def _start(world: World, rng: np.random.Generator, lo: float, hi: float, duration: float,
           key: int | None = None, local_hour: tuple[float, float] | None = None) -> float:
    """A start time in [lo, hi - duration]; with `local_hour`, moved into that local-hour
    range of the key's country on the drawn day."""
    t = lo + rng.random() * max(hi - lo - duration, 0.0)
    if key is None or local_hour is None:
        return t
    offset = world.country_offset[world.key_country(np.array([key]))[0]] * HOUR
    day = np.floor((t + offset) / 86400) * 86400 - offset
    t = day + rng.uniform(*local_hour) * HOUR
    return float(min(max(t, lo), max(hi - duration, lo)))


def _label(world: World, kind: str, key: int | None, ip: int | None, t: float,
           duration: float) -> AnomalyLabel:
    return AnomalyLabel(kind, None if key is None else world.strings["key"].values[
        int(world.key_code[key])], None if ip is None else world.strings["ip"].values[ip],
        None if key is None else int(world.key_product[key]), t, t + duration)


def failed_verifications(world: World, events: Events, rng: np.random.Generator, lo: float,
                         hi: float, label: int) -> AnomalyLabel:
    """Customer in trouble: all machines of a key retry for 1-6 h, 90 % failing."""
    k = _pick_key(world, rng)
    dur = rng.integers(1, 7) * HOUR
    t = _start(world, rng, lo, hi, dur, k, (8, 14))
    machines = np.flatnonzero(world.m_key == k)[:5]
    n = int(rng.integers(20, 121) * dur / HOUR)
    m = rng.choice(machines, n)
    state, method = [(1020, GETKEY), (2020, ACTIVATE)][rng.integers(2)]
    ok = rng.random(n) < 0.1
    events.add(time=t + np.sort(rng.random(n)) * dur, key=world.key_code[k],
               machine=world.m_code[m], ip=world.m_ip[m], country=world.key_country(k),
               state=np.where(ok, 2010, state), method=np.where(ok, ACTIVATE, method),
               product=world.key_product[k], label=label)
    return _label(world, "failed_verifications", k, None, t, dur)


def floating_starved(world: World, events: Events, rng: np.random.Generator, lo: float,
                     hi: float, label: int) -> AnomalyLabel:
    """Customer in trouble: a floating key's users keep asking for a seat and are refused."""
    k = _pick_key(world, rng, floating=True)
    dur = rng.integers(2, 9) * HOUR
    t = _start(world, rng, lo, hi, dur, k, (8, 12))
    machines = np.flatnonzero(world.m_key == k)
    n = int(rng.integers(20, 81) * dur / HOUR)
    m = rng.choice(machines, n)
    refused = rng.random(n) < rng.uniform(0.6, 0.9)
    times = t + np.sort(rng.random(n)) * dur
    events.add(time=times, key=world.key_code[k], machine=world.m_code[m], ip=world.m_ip[m],
               country=world.key_country(k), state=np.where(refused, 2024, 2014),
               method=ACTIVATE, expires=np.where(refused, np.nan, times + 1800),
               product=world.key_product[k], label=label)
    return _label(world, "floating_starved", k, None, t, dur)


def key_sharing(world: World, events: Events, rng: np.random.Generator, lo: float,
                hi: float, label: int) -> AnomalyLabel:
    """Abuse: a key with at most 3 seats leaks to 20-200 machines worldwide over 1-3 days,
    spreading as it goes; most activations are refused at the seat limit."""
    k = _pick_key(world, rng, max_seats=3)
    dur = rng.integers(1, 4) * 86400.0
    t = _start(world, rng, lo, hi, dur)
    n_m = int(rng.integers(20, 201))
    new = world.add_machines(rng, np.full(n_m, k))
    ips = world.strings["ip"].add(random_ips(rng, n_m))
    countries = rng.choice(len(world.country_pop), n_m, p=world.country_pop)
    reqs = rng.integers(1, 6, n_m)
    first = t + np.sqrt(rng.random(n_m)) * dur
    rep = np.repeat(np.arange(n_m), reqs)
    step = np.arange(len(rep)) - np.repeat(np.cumsum(reqs) - reqs, reqs)
    times = np.minimum(first[rep] + step * rng.uniform(60, 3 * HOUR, len(rep)), t + dur)
    refused = rng.random(n_m) < 0.7
    state = np.where(step == 0, np.where(refused[rep], 2021, 2011), 1010)
    events.add(time=times, key=world.key_code[k], machine=world.m_code[new[rep]], ip=ips[rep],
               country=countries[rep], state=state,
               method=np.where(step == 0, ACTIVATE, GETKEY), product=world.key_product[k],
               label=label)
    return _label(world, "key_sharing", k, None, t, dur)


def brute_force(world: World, events: Events, rng: np.random.Generator, lo: float,
                hi: float, label: int) -> AnomalyLabel:
    """Abuse: one address guesses keys, 100-2000 attempts an hour for 1-4 h."""
    dur = rng.integers(1, 5) * HOUR
    t = _start(world, rng, lo, hi, dur)
    n = int(rng.integers(100, 2001) * dur / HOUR)
    ip = int(world.strings["ip"].add(random_ips(rng, 1))[0])
    keys = world.strings["key"].add(random_keys(rng, n))
    machine = world.add_machines(rng, np.array([0]))[0]
    country = int(rng.choice(len(world.country_pop), p=world.country_pop))
    method, state = [(ACTIVATE, 2020), (GETKEY, 1020)][rng.integers(2)]
    events.add(time=t + np.sort(rng.random(n)) * dur, key=keys, machine=world.m_code[machine],
               ip=ip, country=country, state=state, method=method,
               product=int(rng.choice(PRODUCTS)), label=label)
    return _label(world, "brute_force", None, ip, t, dur)


def hammering(world: World, events: Events, rng: np.random.Generator, lo: float, hi: float,
              label: int) -> AnomalyLabel:
    """Abuse: a cracked client replays one key's check every 5-60 s for 3-12 h from 1-3
    new addresses."""
    k = _pick_key(world, rng)
    dur = rng.integers(3, 13) * HOUR
    t = _start(world, rng, lo, hi, dur)
    step = float(rng.integers(5, 61))
    times = np.arange(t, t + dur, step) + rng.random(int(np.ceil(dur / step))) * 2
    n = len(times)
    machine = world.add_machines(rng, np.array([k]))[0]
    ips = world.strings["ip"].add(random_ips(rng, int(rng.integers(1, 4))))
    countries = rng.choice(len(world.country_pop), len(ips), p=world.country_pop)
    which = rng.integers(0, len(ips), n)
    events.add(time=times, key=world.key_code[k], machine=world.m_code[machine],
               ip=ips[which], country=countries[which], state=1010, method=GETKEY,
               product=world.key_product[k], label=label)
    return _label(world, "hammering", k, None, t, dur)


def off_hours(world: World, events: Events, rng: np.random.Generator, lo: float, hi: float,
              label: int) -> AnomalyLabel:
    """Abuse: a stolen key, used 1-3 nights (01-05 local time of its owner) on a new machine
    from a new address in another country, 3-12 requests a night."""
    k = _pick_key(world, rng)
    nights = int(rng.integers(1, 4))
    t = _start(world, rng, lo, hi, nights * 86400.0, k, (1, 1.5))
    home = world.key_country(k)
    country = int(rng.choice(np.flatnonzero(np.arange(len(world.country_pop)) != home)))
    machine = world.add_machines(rng, np.array([k]))[0]
    ip = int(world.strings["ip"].add(random_ips(rng, 1))[0])
    per_night = rng.integers(3, 13, nights)
    night = np.repeat(np.arange(nights), per_night)
    times = np.sort(t + night * 86400.0 + rng.random(len(night)) * 4 * HOUR)
    state = np.where(np.arange(len(times)) == 0, 2011, 2010)
    events.add(time=times, key=world.key_code[k], machine=world.m_code[machine], ip=ip,
               country=country, state=state, method=ACTIVATE, product=world.key_product[k],
               label=label)
    return _label(world, "off_hours", k, None, float(times[0]), float(times[-1] - times[0]))


def seat_churn(world: World, events: Events, rng: np.random.Generator, lo: float, hi: float,
               label: int) -> AnomalyLabel:
    """Licence evasion: 10-40 activate -> use -> deactivate cycles a day over 5-30 machines,
    1-2 days, so more people use a 1-3 seat key than it pays for."""
    k = _pick_key(world, rng, max_seats=3)
    days = int(rng.integers(1, 3))
    t = _start(world, rng, lo, hi, days * 86400.0)
    cycles = int(rng.integers(10, 41)) * days
    pool = world.add_machines(rng, np.full(int(rng.integers(5, 31)), k))
    m = pool[np.arange(cycles) % len(pool)]
    begin = t + np.sort(rng.random(cycles)) * days * 86400.0
    use = rng.integers(1, 4, cycles)
    rows = use + 2
    c = np.repeat(np.arange(cycles), rows)
    step = np.arange(len(c)) - np.repeat(np.cumsum(rows) - rows, rows)
    last = step == rows[c] - 1
    times = begin[c] + step * rng.uniform(60, 600, len(c))
    office = world.cust_ips[world.key_customer[k]]
    events.add(time=times, key=world.key_code[k], machine=world.m_code[m[c]],
               ip=office[rng.integers(0, len(office), len(c))], country=world.key_country(k),
               state=np.select([step == 0, last], [2011, 6010], 2010),
               method=np.where(last, DEACTIVATE, ACTIVATE), product=world.key_product[k],
               label=label)
    return _label(world, "seat_churn", k, None, t, days * 86400.0)


INJECTORS: dict[str, Callable[..., AnomalyLabel]] = {
    f.__name__: f for f in (failed_verifications, floating_starved, key_sharing, brute_force,
                            hammering, off_hours, seat_churn)}


def inject(kind: str, world: World, events: Events, rng: np.random.Generator, lo: float,
           hi: float, *, label: int) -> AnomalyLabel:
    """Add one instance of `kind` between times lo and hi."""
    return INJECTORS[kind](world, events, rng, lo, hi, label)
