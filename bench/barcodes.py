"""Benchmark of station.barcodes.identify over a realistic dock mix.

Prints parses per second and the p50/p99 microseconds of one parse. The mix is what a
sort scanner sees: mostly carrier tracking numbers and GS1 shipping labels, some USPS
420 + IMpb labels, URLs in 2D codes, the station's own codes, and some noise (empty,
truncated, wrong check digits, bytes that are not text, a burst of garbage).

Run: python bench/barcodes.py [--seconds N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from station.barcodes import gs1_check_digit, identify, station_code  # noqa: E402

GS = b"\x1d"
CARRIER = [  # published test numbers (jkeen/tracking_number_data)
    "1Z5R89390357567127",
    "1Z879E930346834440",
    "1Z410E7W0392751591",
    "986578788855",
    "477179081230",
    "041441760228964",
    "568283610012734",
    "61299998820821171811",
    "9611020987654312345672",
    "1001921334250001000300779017972697",
    "9400111201080805483016",
    "9505511069605048600624",
    "92748931507708513018050063",
    "3318810025",
    "8487135506",
    "JJD0099999999",
    "GM2951173225174494",
    "TBA502887274000",
    "C11031500001879",
    "D10011354453707",
    "RB123456785GB",
    "03071790000523483741",
]
NOISE = [
    b"",
    b"\r\n",
    b"1Z5R8939035756712",
    b"1Z5R89390357567128",
    b"996578788855",
    b"\xff\xfe\xfa\x80",
    b"]C100106141412345",
    b"hello world",
    b"ORD-2024-0001\r",
    bytes(random.Random(7).randbytes(300)),
]


def sscc(rng: random.Random) -> str:
    payload = "".join(rng.choice("0123456789") for _ in range(17))
    return payload + str(gs1_check_digit(payload))


def scan(rng: random.Random) -> bytes:
    """One scan as a scanner sends it (with its CR suffix), drawn from the mix."""
    r = rng.random()
    if r < 0.35:
        number = rng.choice(CARRIER)
        return (number.lower() if rng.random() < 0.1 else number).encode() + b"\r"
    if r < 0.55:
        return rng.choice([b"]C100", GS + b"00", b"00"]) + sscc(rng).encode() + b"\r"
    if r < 0.65:
        impb = b"9400111201080805483016"
        zip5 = str(rng.randrange(10000, 99999)).encode()
        return rng.choice([b"]C1420" + zip5 + GS + impb, b"420" + zip5 + impb]) + b"\r"
    if r < 0.70:
        return b"]d200" + sscc(rng).encode() + b"42012345" + GS + b"4010614141ABC123\r"
    if r < 0.75:
        return (
            rng.choice(
                [
                    b"https://www.ups.com/track?loc=en_US&tracknum=1Z5R89390357567127",
                    b"https://www.fedex.com/fedextrack/?trknbr=986578788855",
                    b"]Q3https://id.gs1.org/00/" + sscc(rng).encode(),
                ]
            )
            + b"\r"
        )
    if r < 0.80:
        return station_code(rng.choice(["lane", "van"]), str(rng.randrange(1, 30))).encode() + b"\r"
    if r < 0.85:
        return b"ORD-" + str(rng.randrange(10**6)).encode() + b"\r"
    return rng.choice(NOISE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to run the throughput loop")
    parser.add_argument("--scans", type=int, default=20_000, help="distinct scans in the mix")
    args = parser.parse_args()

    rng = random.Random(42)
    mix = [scan(rng) for _ in range(args.scans)]
    for data in mix[:2000]:  # warm up caches (regexes, biip's AI table)
        identify(data)

    count = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for data in mix:
            identify(data)
        count += len(mix)
    elapsed = time.perf_counter() - start

    timings = []
    clock = time.perf_counter_ns
    for data in mix:
        t0 = clock()
        identify(data)
        timings.append((clock() - t0) / 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99)]
    print(f"barcodes: {count / elapsed:,.0f} parses/s over {count:,} parses of {len(mix):,} distinct scans")
    print(
        f"per parse: mean {statistics.fmean(timings):.1f} us, p50 {timings[len(timings) // 2]:.1f} us, "
        f"p99 {p99:.1f} us, max {timings[-1]:.1f} us"
    )


if __name__ == "__main__":
    main()
