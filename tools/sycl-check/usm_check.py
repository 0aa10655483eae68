#!/usr/bin/env python3
"""Intel's SYCL runtime (dpctl) moving USM data on a Level Zero driver.

For every Level Zero GPU that SYCL enumerates, and for every kind of USM
allocation (device, host, shared): bytes from the host into an allocation,
copies between two allocations on the device's queue (queue.memcpy;
memcpy_async then the event's wait, then the queue's; the same on an
in-order queue), memsets, and copies from every kind into every other;
after each, the bytes are read back and every byte compared. Exits 0 when every check holds, 1 on a mismatch or an error, 2
when no Level Zero GPU is found.

Outside CI: it needs dpctl from PyPI and a current Level Zero loader
(driver/README.md, "Running Intel's SYCL runtime on swze").

    usm_check.py [--size BYTES] [--devices N]
"""
import argparse
import os
import sys
import traceback


def pattern(size, seed):
    return bytes(((i * 131 + seed * 7 + (i >> 8)) & 0xFF) for i in range(size))


def first_mismatch(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return i
    return None if len(got) == len(want) else min(len(got), len(want))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=(1 << 20) + 13,
                        help="bytes per allocation (default 1 MiB + 13)")
    parser.add_argument("--devices", type=int, default=0,
                        help="at least this many Level Zero GPUs expected (default: any)")
    args = parser.parse_args()

    import dpctl
    import dpctl.memory as usm

    kinds = {"device": usm.MemoryUSMDevice, "host": usm.MemoryUSMHost,
             "shared": usm.MemoryUSMShared}
    adapter = "v2" if os.environ.get("SYCL_UR_USE_LEVEL_ZERO_V2") == "1" else "v1 (default)"
    devices = dpctl.get_devices(backend="level_zero", device_type="gpu")
    print(f"dpctl {dpctl.__version__}, Level Zero adapter {adapter}: {len(devices)} GPU(s)")
    if not devices or len(devices) < args.devices:
        print(f"FAIL: {len(devices)} Level Zero GPU(s), at least {max(args.devices, 1)} expected")
        return 2

    failures = 0
    checks = 0
    size = args.size

    def check(label, name, got, expected):
        nonlocal failures, checks
        checks += 1
        at = first_mismatch(got, expected)
        if at is None:
            print(f"  ok   {label}: {name}, {len(expected)} bytes")
        else:
            failures += 1
            print(f"  FAIL {label}: {name}: first wrong byte at {at} "
                  f"(got {got[at] if at < len(got) else None}, "
                  f"want {expected[at] if at < len(expected) else None})")

    for number, device in enumerate(devices):
        print(f"device {number}: {device.name}, driver {device.driver_version}")
        try:
            queue = dpctl.SyclQueue(device)
            in_order = dpctl.SyclQueue(device, property="in_order")
        except Exception:
            failures += 1
            checks += 1
            print(f"  FAIL device {number}: no queue: {traceback.format_exc().strip().splitlines()[-1]}")
            continue
        sources = {}
        for seed, (kind, memory) in enumerate(kinds.items(), start=1):
            label = f"device {number} {kind}"
            try:
                source = memory(size, queue=queue)
                target = memory(size, queue=queue)
                want = pattern(size, seed)
                source.copy_from_host(want)
                check(label, "copy_from_host, copy_to_host", bytes(source.copy_to_host()), want)
                queue.memcpy(target, source, size)
                check(label, "queue.memcpy", bytes(target.copy_to_host()), want)
                target.memset(0)
                check(label, "memset 0", bytes(target.copy_to_host()), bytes(size))
                queue.memcpy_async(target, source, size).wait()
                check(label, "queue.memcpy_async, wait", bytes(target.copy_to_host()), want)
                target.memset(0xA5)
                check(label, "memset 0xa5", bytes(target.copy_to_host()), b"\xa5" * size)
                queue.memcpy_async(target, source, size)
                queue.wait()
                check(label, "queue.memcpy_async, queue.wait", bytes(target.copy_to_host()), want)
                target.memset(0)
                in_order.memcpy_async(target, source, size)
                in_order.wait()
                check(label, "in-order queue: memcpy_async, queue.wait", bytes(target.copy_to_host()), want)
                sources[kind] = (source, want)
            except Exception:  # an adapter or driver error is a failure too
                failures += 1
                checks += 1
                print(f"  FAIL {label}: {traceback.format_exc().strip().splitlines()[-1]}")
        # Every kind into every other kind.
        for source_kind, (source, want) in sources.items():
            for target_kind, memory in kinds.items():
                if target_kind == source_kind:
                    continue
                label = f"device {number} {source_kind} -> {target_kind}"
                try:
                    target = memory(size, queue=queue)
                    queue.memcpy(target, source, size)
                    check(label, "queue.memcpy", bytes(target.copy_to_host()), want)
                except Exception:
                    failures += 1
                    checks += 1
                    print(f"  FAIL {label}: {traceback.format_exc().strip().splitlines()[-1]}")
    print(f"usm_check: {checks - failures} of {checks} checks passed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
