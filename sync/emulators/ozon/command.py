"""``ozon-sync emulator``: the Ozon emulator alone on 127.0.0.1, with the control API's curl lines."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from sync.emulators.ozon.emulator import OzonEmulator
from sync.emulators.server import Faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated postings")
    parser.add_argument("--postings", type=int, default=30, help="how many postings to seed")
    parser.add_argument("--fbo", type=int, default=10, help="how many FBO postings to seed")
    parser.add_argument("--returns", type=int, default=5, help="how many returns to seed")
    parser.add_argument("--client-id", default="123456", help="the Client-Id it accepts")
    parser.add_argument("--api-key", default="emulator-key", help="the Api-Key it accepts")
    parser.add_argument("--ship-delay", type=float, default=1.5, help="seconds a ship stays in processing, as at Ozon")
    parser.add_argument("--ship-fail-rate", type=float, default=0.0, help="share of ships that end in ship_failed")
    parser.add_argument("--marked", type=int, default=6, help="how many postings of products needing item data "
                        "(marking codes, GTD, weight, country) to seed besides --postings")
    parser.add_argument("--label-delay", type=float, default=45.0, help="seconds after packing a label is ready")
    parser.add_argument("--exemplar-delay", type=float, default=2.0, help="seconds the check of item data takes")
    parser.add_argument("--rps", type=float, default=50.0, help="rate limit per Client-Id (429 above it)")
    parser.add_argument("--fault-500", type=float, default=0.0, help="share of requests answered with 500")
    parser.add_argument("--fault-429", type=float, default=0.0, help="share of requests answered with 429")
    parser.add_argument("--write-log", type=Path, default=None, help="append every write call to this JSONL file")


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    faults = Faults(rate_429=args.fault_429, rate_500=args.fault_500)
    emu = OzonEmulator(seed=args.seed, postings=args.postings, fbo=args.fbo, returns=args.returns,
                       client_id=args.client_id, api_key=args.api_key,
                       port=args.port, rate_limit_rps=args.rps, ship_delay=args.ship_delay,
                       ship_fail_rate=args.ship_fail_rate, marked=args.marked, label_delay=args.label_delay,
                       exemplar_check_delay=args.exemplar_delay, faults=faults, write_log_path=args.write_log)
    with emu:
        print(f"Ozon Seller API emulator on {emu.base_url} with {args.postings} postings "
              f"(Client-Id {args.client_id}, Api-Key {args.api_key}).")
        print("Point ozon.base_url at it. Ozon-side changes:")
        print(f"  curl -X POST {emu.base_url}/_emulator/postings -d '{{\"scheme\": \"rFBS\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/buyer-cancel -d '{{\"posting_number\": \"...\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/key -d '{{\"expires_in_days\": 3}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/fbo -d '{{\"status\": \"delivering\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/returns -d '{{\"posting_number\": \"...\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/reject-mark -d '{{\"mark\": \"...\"}}'")
        print(f"  curl -X POST {emu.base_url}/_emulator/unlabelable -d '{{\"posting_number\": \"...\"}}'")
        print(f"  curl {emu.base_url}/_emulator/log")
        print("Ctrl-C stops it.")
        emu.wait(stop)
    return 0
