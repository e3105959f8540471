# -*- coding: utf-8 -*-
"""Write a sparse test image: SIZE bytes of holes with 64 KiB of seeded random data at its start and middle.

Usage: mkfile.py PATH SIZE_IN_MIB SEED
"""

import random
import sys


def main():
    path, size, seed = sys.argv[1], int(sys.argv[2]) * 1024 * 1024, int(sys.argv[3])
    rng = random.Random(seed)
    with open(path, 'wb') as f:
        f.truncate(size)
        for offset in (0, size // 2):
            f.seek(offset)
            f.write(bytes(rng.getrandbits(8) for dummy in range(65536)))


if __name__ == '__main__':
    main()
