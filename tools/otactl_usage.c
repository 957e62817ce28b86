/*
 * otactl_usage: the usage text of every command, printed whole for
 * `otactl --help` and `otactl help`, one command's part for
 * `otactl help COMMAND` and `otactl COMMAND ... --help`, and after a usage
 * error (exit status 2) a hint naming the command's help.
 */
#include "otactl_usage.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "otactl_ctx.h"
#include "otactl_err.h"

/*
 * One part of the usage: the command words it documents (cmd, for
 * example "devices list"; NULL for a section heading or note) and its
 * lines.  A part documenting several subcommands names each in cmd,
 * separated by '|' after the shared first word ("devices show|delete").
 */
struct usage_part {
	const char *cmd;
	const char *text;
};

#define SERVER_OPTS "--server URL, --token-file FILE, --cacert FILE"

static const char usage_head[] =
    "usage: otactl [--config PATH] [--data-dir DIR] [--database TARGET]\n"
    "              COMMAND ...\n"
    "       otactl help [COMMAND [SUBCOMMAND]] | --help | --version\n";

static const struct usage_part parts[] = {
    {NULL, "\nRelease signing (no server needed):\n"},
    {"keygen", "  keygen --out PREFIX\n"
               "      write PREFIX.key (Ed25519 PKCS#8 PEM, 0600) and "
               "PREFIX.pub\n"},
    {"describe",
        "  describe IMAGE [--name N] [--version V] --hardware H "
        "[--hardware H2 ...]\n"
        "      [--min-version V] [--security-counter N] [--filename F]\n"
        "      [--out FILE]\n"
        "      write the image descriptor (default IMAGE.json); name and\n"
        "      version default to what an MCUboot, ESP-IDF or Blynk image "
        "says\n"},
    {"sign", "  sign --key KEYFILE [--out SIGFILE] DESCRIPTOR\n"
             "      write the raw 64-byte Ed25519 signature (default "
             "DESCRIPTOR.sig)\n"},
    {"verify", "  verify --pub PUBFILE --sig SIGFILE DESCRIPTOR\n"},
    {NULL, "\nServer (options: " SERVER_OPTS "):\n"},
    {"upload", "  upload IMAGE [--descriptor FILE] --sig KEYID:SIGFILE "
               "[--sig ...]\n"},
    {"images", "  images [--name N] [--hardware H] [--min-version V]\n"
               "      [--max-version V] [--limit N] [--json]\n"},
    {"images download",
        "  images download ID [--out FILE]\n"
        "      the image's bytes to FILE (default the descriptor's filename,\n"
        "      else NAME-VERSION.bin), kept only when they match its\n"
        "      descriptor's size and sha256\n"},
    {"bundles describe",
        "  bundles describe --name N --version V --part COMPONENT=IMAGE[@VIA]\n"
        "      [--part ...] [--hardware COMPONENT=HW] [--out FILE]\n"
        "      write a bundle descriptor, parts in install order (default "
        "N-V.json)\n"},
    {"bundles upload",
        "  bundles upload DESCRIPTOR --sig KEYID:SIGFILE [--sig ...] "
        "[--json]\n"
        "      store a signed release bundle (docs/bundles.md); its "
        "images first\n"},
    {"bundles list|show|delete",
        "  bundles list | show ID | delete ID [--json]\n"},
    {NULL, "\nFleet (same server options; --json prints otad's JSON):\n"},
    {"whoami", "  whoami [--json]\n"
               "      the role and name of the token otactl sends\n"},
    {"fleet", "  fleet [--stale-days 7] [--json]\n"
              "      devices by installed version and hardware, and how "
              "many\n"
              "      were not seen for N days (or never)\n"},
    {"devices import",
        "  devices import FILE.csv [--out TOKENS.csv] [--batch-size N]\n"
        "      [--dry-run]\n"
        "      CSV header: id,hardware[,version][,groups][,labels]"
        "[,components]\n"
        "      components: name=hardware[@version];... "
        "(ncp=esp32c6@1.2.0;mcu=nrf52840)\n"},
    {"devices list", "  devices list [--group G] [--hardware H] [--version V]\n"
                     "      [--seen-after T] [--seen-before T] [--json]\n"},
    {"devices show", "  devices show ID [--json]\n"
                     "      the device and its status in each rollout\n"},
    {"devices events", "  devices events ID [--limit 20] [--json]\n"
                       "      its latest update events, newest first\n"},
    {"devices delete|rotate-token|revoke-token",
        "  devices delete|rotate-token|revoke-token ID\n"},
    {"groups create", "  groups create NAME [--description D]\n"},
    {"groups list|show|delete", "  groups list | show NAME | delete NAME\n"},
    {"groups update",
        "  groups update NAME --maintenance-windows \"daily 01:00 3h UTC\"\n"
        "      the windows every rollout honours for its members\n"},
    {"groups add|remove", "  groups add|remove NAME [ID ...] [--file FILE]\n"},
    {"gateways create", "  gateways create NAME --group G [--group G2 ...]\n"},
    {"gateways list|revoke", "  gateways list | revoke NAME\n"},
    {"rollouts create",
        "  rollouts create --image ID|--bundle ID --group G [--group G2 ...]\n"
        "      [--name N]\n"
        "      [--stages 1,5,25,100] [--failure-threshold 0.05]\n"
        "      [--min-reports 10] [--advance-after SEC]\n"
        "      [--gate simple|wilson] [--confidence 0.95]\n"
        "      [--from-version \">=1.2.0 <1.4.0\"] "
        "[--start-at 2026-12-24T02:00:00Z]\n"
        "      [--selector \"region=eu,model in (a,b),!beta\"]\n"
        "      [--maintenance-windows \"mon-fri 22:00 4h Europe/Berlin\"]\n"
        "      [--outside-window notify|silent]\n"
        "      [--action-type forced|soft|time-forced|download-only]\n"
        "      [--forced-at TIME]\n"
        "      [--device-timeout SEC] [--max-retries N] "
        "[--retry-backoff SEC]\n"
        "      [--abort-on failed,timed_out,reverted] "
        "[--ignore-results 4,9]\n"
        "      [--breach-action pause|abort]\n"
        "      [--max-offers-per-minute N] [--rate-ramp-minutes K] "
        "[--rate-ramp-max M]\n"
        "      [--require-consent true|false] [--consent-retry SEC]\n"},
    {"rollouts list|show",
        "  rollouts list [--state S] [--image ID] | show ID\n"},
    {"rollouts update",
        "  rollouts update ID [--failure-threshold F] [--min-reports N]\n"
        "      [--advance-after SEC] [--gate simple|wilson] "
        "[--confidence C]\n"
        "      [--from-version RANGE] [--start-at TIME] [--selector SEL]\n"
        "      [--maintenance-windows W] [--outside-window notify|silent]\n"
        "      [--action-type T] [--forced-at TIME]\n"
        "      [--device-timeout SEC] [--max-retries N] "
        "[--retry-backoff SEC]\n"
        "      [--abort-on LIST] [--ignore-results LIST] "
        "[--breach-action A]\n"
        "      [--max-offers-per-minute N] [--rate-ramp-minutes K] "
        "[--rate-ramp-max M]\n"
        "      [--require-consent true|false] [--consent-retry SEC]\n"
        "      edit the policy of a draft or paused rollout (audited)\n"},
    {"rollouts start|pause|resume|advance|abort",
        "  rollouts start|pause|resume|advance|abort ID [--reason R]\n"
        "      [--stage-index N]\n"},
    {"rollouts health", "  rollouts health ID [--json]\n"
                        "      stages, progress bars, failures by result "
                        "code\n"},
    {"rollouts watch", "  rollouts watch ID [--interval SEC] [--count N]\n"
                       "      health again every SEC (default 5) until the "
                       "rollout ends\n"},
    {NULL, "\nAPI tokens (directly in otad's database: --database TARGET, a "
           "SQLite\n"
           "path or a PostgreSQL URI/conninfo; default "
           "<data_dir>/otad.db):\n"},
    {"token create",
        "  token create --role admin|release|viewer --name NAME\n"},
    {"token list", "  token list [--json]\n"},
    {"token revoke", "  token revoke ID|NAME\n"},
};

static const char usage_tail[] =
    "\nEnvironment: OTACTL_SERVER (default " OTACTL_DEFAULT_SERVER "),\n"
    "  OTACTL_TOKEN (or --token-file), OTACTL_CACERT, OTAD_* as for otad.\n"
    "The API token is never accepted as a command-line argument.\n";

/*
 * Returns 1 when the part documented by pattern (its cmd) covers the
 * command words cmd: cmd is its first word alone ("devices"), or its
 * first word and one of its '|' alternatives ("devices show").
 */
static int
part_covers(const char *pattern, const char *cmd)
{
	size_t first = strcspn(pattern, " ");
	size_t clen = strcspn(cmd, " ");
	const char *alt, *want;
	size_t wlen;

	if (clen != first || strncmp(pattern, cmd, first) != 0)
		return 0;
	if (cmd[clen] == '\0')
		return 1;
	if (pattern[first] == '\0')
		return 0;
	want = cmd + clen + 1;
	wlen = strlen(want);
	for (alt = pattern + first + 1; *alt != '\0';) {
		size_t alen = strcspn(alt, "|");

		if (alen == wlen && strncmp(alt, want, alen) == 0)
			return 1;
		alt += alen;
		if (*alt == '|')
			alt++;
	}
	return 0;
}

void
otactl_usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		fputs(parts[i].text, f);
	fputs(usage_tail, f);
}

int
otactl_usage_cmd(FILE *f, const char *cmd)
{
	int found = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i].cmd == NULL || !part_covers(parts[i].cmd, cmd))
			continue;
		if (!found)
			fputs("usage: otactl [global options]\n", f);
		fputs(parts[i].text, f);
		found = 1;
	}
	if (!found)
		return -1;
	fputs("\nGlobal options: --config PATH, --data-dir DIR, "
	      "--database TARGET;\n"
	      "server commands also take " SERVER_OPTS ".\n"
	      "otactl --help for every command.\n",
	    f);
	return 0;
}

int
otactl_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	otactl_err_v(fmt, ap);
	va_end(ap);
	fputs("(otactl --help for usage)\n", stderr);
	return OTACTL_EXIT_USAGE;
}
