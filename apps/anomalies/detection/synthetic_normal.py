"""Everyday traffic of the synthetic world: program starts, server check-ins, floating
sessions, travelling laptops, machine replacements, expired keys and mistyped keys. These
benign oddities are on purpose: a detector that flags every traveller or every replaced
laptop is useless to a vendor.
"""

from __future__ import annotations

import numpy as np

from .synthetic_world import (
    ACTIVATE,
    DEACTIVATE,
    EVENT,
    GETKEY,
    Events,
    World,
    hour_profile,
    random_ips,
)

ABROAD, AT_HOME = 0.01, 0.33  # shares of laptop-days


def _weekday(world: World) -> np.ndarray:
    day0 = int(world.t0 // 86400)
    return (day0 + np.arange(world.days) + 3) % 7


def replace_machines(world: World, rng: np.random.Generator, events: Events) -> None:
    """3 % of node-locked machines are replaced: the old one is deactivated, half the time
    after 1-3 refused activations of the new one (seat limit), then the new one activated."""
    cand = np.flatnonzero(~world.key_floating[world.m_key] & ~world.m_server)
    old = rng.choice(cand, int(0.03 * len(cand)), replace=False)
    day = rng.integers(1, world.days, len(old))
    world.m_last[old] = day - 1
    new = world.add_machines(rng, world.m_key[old], m_rate=world.m_rate[old], m_first=day,
                             m_ip=world.m_ip[old], m_home_ip=world.m_home_ip[old],
                             m_laptop=world.m_laptop[old])
    key = world.m_key[old]
    country = world.key_country(key)
    t = (world.t0 + day * 86400 + (rng.choice(24, len(old), p=hour_profile()) + rng.random(
        len(old))) * 3600 - world.country_offset[country] * 3600)
    product = world.key_product[key]
    tries = np.where(rng.random(len(old)) < 0.5, rng.integers(1, 4, len(old)), 0)
    rep = np.repeat(np.arange(len(old)), tries)
    step = np.arange(len(rep)) - np.repeat(np.cumsum(tries) - tries, tries)
    events.add(time=t[rep] - 300 + 40 * step, key=world.key_code[key[rep]],
               machine=world.m_code[new[rep]], ip=world.m_ip[old[rep]], country=country[rep],
               state=2021, method=ACTIVATE, product=product[rep])
    events.add(time=t, key=world.key_code[key], machine=world.m_code[old], ip=world.m_ip[old],
               country=country, state=6010, method=DEACTIVATE, product=product)
    events.add(time=t + 20, key=world.key_code[key], machine=world.m_code[new],
               ip=world.m_ip[old], country=country, state=2011, method=ACTIVATE,
               product=product)


def machine_days(world: World, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(machine, day, count) of program starts / check-ins per machine and day."""
    weekend = _weekday(world) >= 5
    days = np.arange(world.days)
    week = np.where(weekend, 0.15, 1.0)[None, :]
    week = np.where(world.m_server[:, None], 1.0, week)
    active = (days >= world.m_first[:, None]) & (days <= world.m_last[:, None])
    expired = days[None, :] >= world.key_expiry[world.m_key][:, None]
    noise = rng.lognormal(0.0, 0.3, (len(world.m_key), world.days))
    lam = world.m_rate[:, None] * week * active * np.where(expired, 0.4, 1.0) * noise
    counts = rng.poisson(lam)
    mi, di = np.nonzero(counts)
    return mi, di, counts[mi, di]


def sessions(world: World, events: Events, rng: np.random.Generator,
             cells: tuple[np.ndarray, ...]) -> None:
    """Expand machine-days into rows, with laptops at home or abroad some days."""
    mi, di, c = cells
    r = rng.random(len(mi))
    laptop = world.m_laptop[mi]
    abroad = laptop & (r > 1 - ABROAD)
    home = laptop & (r < AT_HOME)
    country_c = world.key_country(world.m_key[mi])
    foreign = rng.choice(len(world.country_pop), len(mi), p=world.country_pop)
    country_c = np.where(abroad, foreign, country_c)
    hotel = np.zeros(len(mi), np.int64)
    if abroad.any():
        hotel[abroad] = world.strings["ip"].add(random_ips(rng, int(abroad.sum())))
    ip_c = np.where(abroad, hotel, np.where(home, world.m_home_ip[mi], world.m_ip[mi]))
    m, d = np.repeat(mi, c), np.repeat(di, c)
    country, ip = np.repeat(country_c, c), np.repeat(ip_c, c)
    server = world.m_server[m]
    hour = np.where(server, rng.integers(0, 24, len(m)), rng.choice(24, len(m), p=hour_profile()))
    t = world.t0 + d * 86400.0 + (hour + rng.random(len(m))) * 3600 \
        - np.where(server, 0.0, world.country_offset[country] * 3600)
    floating = world.key_floating[world.m_key[m]]
    _node_locked(world, events, rng, t[~floating], m[~floating], d[~floating], ip[~floating],
                 country[~floating])
    _floating(world, events, rng, t[floating], m[floating], ip[floating], country[floating])


def _node_locked(world: World, events: Events, rng: np.random.Generator, t: np.ndarray,
                 m: np.ndarray, d: np.ndarray, ip: np.ndarray, country: np.ndarray) -> None:
    u = rng.random(len(m))
    method = np.where(world.m_server[m] | (u < 0.12), GETKEY, np.where(u > 0.97, EVENT,
                                                                        ACTIVATE))
    state = np.select([method == ACTIVATE, method == GETKEY], [2010, 1010], 5010)
    fail = rng.random(len(m)) < 0.005
    state = np.where(fail & (method == ACTIVATE), 2020, state)
    state = np.where(fail & (method == GETKEY), 1020, state)
    key = world.m_key[m]
    expired = d >= world.key_expiry[key]
    state = np.where(expired & (method == ACTIVATE), 2023, state)
    state = np.where(expired & (method == GETKEY), 1020, state)
    # Machines of keys bought during the period: their first activation adds the device.
    late = world.key_late[key]
    order = np.argsort(t, kind="stable")
    first = np.zeros(len(m), bool)
    _, idx = np.unique(m[order], return_index=True)
    first[order[idx]] = True
    new = late & first
    state = np.where(new, 2011, state)
    method = np.where(new, ACTIVATE, method)
    events.add(time=t, key=world.key_code[key], machine=world.m_code[m], ip=ip,
               country=country, state=state, method=method, product=world.key_product[key])


def _floating(world: World, events: Events, rng: np.random.Generator, t: np.ndarray,
              m: np.ndarray, ip: np.ndarray, country: np.ndarray) -> None:
    """Each start: a floating activation, heartbeats every 30 min, usually a release."""
    length = 2 + rng.poisson(3, len(m))
    s = np.repeat(np.arange(len(m)), length)
    step = np.arange(len(s)) - np.repeat(np.cumsum(length) - length, length)
    times = t[s] + step * 1800.0 + rng.random(len(s)) * 20
    last = step == length[s] - 1
    release = last & (rng.random(len(m)) < 0.7)[s]
    refused = (step == 0) & (rng.random(len(m)) < 0.003)[s]
    state = np.select([release, refused], [6011, 2024], 2014)
    method = np.where(release, DEACTIVATE, ACTIVATE)
    key = world.m_key[m[s]]
    events.add(time=times, key=world.key_code[key], machine=world.m_code[m[s]], ip=ip[s],
               country=country[s], state=state, method=method,
               expires=np.where(state == 2014, times + 2400, np.nan),
               product=world.key_product[key])


def side_events(world: World, events: Events, rng: np.random.Generator) -> None:
    """About 15 mistyped keys a day (1-3 tries from the customer's office)."""
    n = int(rng.poisson(15 * world.days))
    m = rng.choice(len(world.m_key), n)
    key = world.m_key[m]
    typed = [k[:i] + chr(65 + (ord(k[i]) - 64) % 26) + k[i + 1:] for k, i in
             zip(np.array(world.strings["key"].values)[world.key_code[key]],
                 rng.choice([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12], n), strict=True)]
    codes = world.strings["key"].add(typed)
    tries = rng.integers(1, 4, n)
    rep = np.repeat(np.arange(n), tries)
    country = world.key_country(key)
    day = rng.integers(0, world.days, n)
    t = world.t0 + day * 86400.0 + (rng.choice(24, n, p=hour_profile()) + rng.random(n)) * 3600 \
        - world.country_offset[country] * 3600
    step = np.arange(len(rep)) - np.repeat(np.cumsum(tries) - tries, tries)
    gaps = rng.uniform(5, 90, len(rep))
    events.add(time=t[rep] + gaps * step, key=codes[rep], machine=world.m_code[m[rep]],
               ip=world.m_ip[m[rep]], country=country[rep], state=2020, method=ACTIVATE,
               product=world.key_product[key[rep]])


def normal_traffic(world: World, events: Events, rng: np.random.Generator) -> None:
    """All benign rows: replacements first (they end old machines' active days)."""
    replace_machines(world, rng, events)
    sessions(world, events, rng, machine_days(world, rng))
    side_events(world, events, rng)
