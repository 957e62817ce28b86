// esptool_js_check.mjs: cross-checks otad's reading of ESP-IDF application
// images against Espressif's esptool-js (npm), an independent reader and
// writer of the image format (esp_image_header_t and its segments).
//
//   node tests/esptool_js_check.mjs ESPTOOL_JS_LIB read IMAGE
//       loads IMAGE (as tests/fwimage.py writes it) with esptool-js and
//       prints {"chip_id","segments":[[addr,len],...],"desc_at"} where
//       desc_at is the file offset of the first segment's data
//   node tests/esptool_js_check.mjs ESPTOOL_JS_LIB write OUT VERSION PROJECT
//       writes OUT with esptool-js: an ESP32-S3 image whose first (DROM)
//       segment starts with an esp_app_desc_t (esp_app_desc.h) of VERSION
//       and PROJECT
//
// ESPTOOL_JS_LIB is the lib/ directory of an installed esptool-js (0.7.0).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [lib, cmd, ...args] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(lib, p)).href);
const { ESP32S3ROM } = await load("targets/esp32s3.js");
const { loadFirmwareImage } = await load("image/index.js");
const { ESP32S3FirmwareImage } = await load("image/others.js");
const { ImageSegment } = await load("image/base.js");
const rom = new ESP32S3ROM();

if (cmd === "read") {
	const img = await loadFirmwareImage(rom, new Uint8Array(readFileSync(args[0])));
	console.log(JSON.stringify({
		chip_id: img.chipId,
		segments: img.segments.map((s) => [s.addr, s.data.length]),
		desc_at: img.segments[0].fileOffs + 8,
	}));
} else if (cmd === "write") {
	// esp_app_desc_t: magic_word, secure_version, reserv1[2], version[32],
	// project_name[32], time[16], date[16], idf_ver[32], app_elf_sha256[32],
	// the rest reserved: 256 bytes.
	const desc = new Uint8Array(4096);
	const dv = new DataView(desc.buffer);
	const str = (at, s) => desc.set(new TextEncoder().encode(s), at);
	dv.setUint32(0, 0xabcd5432, true);
	str(16, args[1]);
	str(48, args[2]);
	str(80, "10:11:12");
	str(96, "Dec  6 2026");
	str(112, "v5.1.2");
	const img = new ESP32S3FirmwareImage(rom);
	img.chipId = rom.IMAGE_CHIP_ID;
	img.segments = [new ImageSegment(0x3c000020, desc)];
	const out = await img.save();
	writeFileSync(args[0], out);
} else {
	console.error("usage: esptool_js_check.mjs LIB read IMAGE | write OUT VERSION PROJECT");
	process.exit(2);
}
