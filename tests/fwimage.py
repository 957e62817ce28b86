#!/usr/bin/env python3
"""fwimage.py KIND OUT ARGS...: writes a firmware image carrying its own
identity, built from the formats' published layouts (little-endian):

  mcuboot OUT MAJOR MINOR REVISION BUILD
      MCUboot's struct image_header (boot/bootutil/include/bootutil/image.h):
      magic 0x96f3b83d, load_addr, hdr_size 32, protect_tlv_size 0,
      img_size, flags 0, ih_ver (u8 major, u8 minor, u16 revision, u32
      build_num), pad; then the body and a TLV area.
  esp OUT VERSION PROJECT
      ESP-IDF's esp_image_header_t (24 bytes, magic 0xE9) and
      esp_image_segment_header_t (esp_app_format.h), then esp_app_desc_t
      (esp_app_desc.h, 256 bytes, magic 0xABCD5432) at offset 32.
  blynk OUT MCU FW_TYPE OFFSET
      random bytes with Blynk's binary info tag ("blnkinf\\0" then
      key\\0value\\0 pairs, then \\0) at OFFSET.
  random OUT SIZE
"""
import os
import struct
import sys


def mcuboot(major, minor, rev, build):
    body = os.urandom(4000)
    hdr = struct.pack("<IIHHIIBBHII", 0x96F3B83D, 0, 32, 0, len(body), 0,
                      major, minor, rev, build, 0)
    assert len(hdr) == 32
    tlv = struct.pack("<HH", 0x6907, 4 + 36) + struct.pack("<BBH", 0x10, 0, 32)
    return hdr + body + tlv + os.urandom(32)


def esp(version, project):
    hdr = struct.pack("<BBBBIB3sHBHH4sB", 0xE9, 1, 2, 0x20, 0x40080000, 0xEE,
                      b"\0\0\0", 0x0009, 0, 0, 0, b"\0" * 4, 0)
    assert len(hdr) == 24
    seg_len = 4096
    seg = struct.pack("<II", 0x3C000020, seg_len)
    desc = struct.pack("<II8s32s32s16s16s32s32s", 0xABCD5432, 0, b"",
                       version.encode(), project.encode(), b"10:11:12",
                       b"Dec  6 2026", b"v5.1.2", bytes(range(32)))
    desc += b"\0" * (256 - len(desc))
    data = desc + os.urandom(seg_len - len(desc))
    return hdr + seg + data + os.urandom(16)


def blynk(mcu, fw_type, offset):
    tag = b"blnkinf\0"
    for k, v in (("mcu", mcu), ("fw-type", fw_type),
                 ("build", "Dec  6 2026 10:11:12"), ("blynk", "1.0.0")):
        tag += k.encode() + b"\0" + v.encode() + b"\0"
    tag += b"\0"
    # No stray magic in the random bytes around the tag.
    pre = os.urandom(offset).replace(b"b", b"c")
    return pre + tag + os.urandom(20000).replace(b"b", b"c")


def main():
    kind, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if kind == "mcuboot":
        data = mcuboot(*(int(a) for a in args))
    elif kind == "esp":
        data = esp(*args)
    elif kind == "blynk":
        data = blynk(args[0], args[1], int(args[2]))
    else:
        data = os.urandom(int(args[0]))
    with open(out, "wb") as f:
        f.write(data)


main()
