"""A Zeek conn.log writer for throughput runs (the IoT simulator brings labelled traffic).

Flows of a few hundred hosts to a few thousand destinations, time-ordered,
with Zeek's TSV headers, so the adapter reads what Zeek writes.
"""

from __future__ import annotations

import random
from pathlib import Path

FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
]
TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
]


def write_conn_log(path: Path, lines: int, *, seed: int = 1, start: float = 1773471600.0) -> int:
    """Write ``lines`` conn records; returns the count written."""
    rng = random.Random(seed)
    hosts = [f"10.20.{i // 250}.{i % 250 + 1}" for i in range(400)]
    remotes = [
        f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(3000)
    ]
    services = [
        (443, "ssl", "tcp"),
        (80, "http", "tcp"),
        (53, "dns", "udp"),
        (1883, "-", "tcp"),
        (123, "ntp", "udp"),
    ]
    ts = start
    with path.open("w") as fh:
        fh.write(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
            "#unset_field\t-\n#path\tconn\n"
        )
        fh.write("#open\t2026-03-14-08-00-00\n#fields\t" + "\t".join(FIELDS) + "\n")
        fh.write("#types\t" + "\t".join(TYPES) + "\n")
        for n in range(lines):
            ts += rng.expovariate(200.0)
            port, service, proto = rng.choice(services)
            ob, rb = rng.randint(40, 4000), rng.randint(0, 60000)
            row = (
                f"{ts:.6f}",
                f"C{n:017x}",
                rng.choice(hosts),
                str(rng.randint(1024, 65535)),
                rng.choice(remotes),
                str(port),
                proto,
                service,
                f"{rng.random() * 3:.6f}",
                str(ob),
                str(rb),
                "SF",
                "T",
                "F",
                "0",
                "ShADadFf",
                str(ob // 500 + 3),
                str(ob + 160),
                str(rb // 1400 + 2),
                str(rb + 120),
                "(empty)",
            )
            fh.write("\t".join(row) + "\n")
        fh.write("#close\t2026-03-14-09-00-00\n")
    return lines
