/*
 * fuzz_config - a conf file into config_load, with its included files.
 *
 * The input is up to three files separated by a line "%%": the conf
 * file, the TrustedNetworks file and the DMARCOverrides file. In the conf
 * text, @NETS@ and @OVERRIDES@ stand for the paths the other two are written
 * to, so seeds name them whatever directory the fuzzer runs in.
 */
#include "config.h"
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], conf_path[96], nets_path[96], ovr_path[96];

/* cleanup - leave no files behind in /tmp */
static void
cleanup(void)
{
	unlink(conf_path);
	unlink(nets_path);
	unlink(ovr_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	snprintf(dir, sizeof(dir), "/tmp/authmilter-fuzz-config-%ld", (long)getpid());
	if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0)
		abort();
	snprintf(conf_path, sizeof(conf_path), "%s/authmilter.conf", dir);
	snprintf(nets_path, sizeof(nets_path), "%s/nets", dir);
	snprintf(ovr_path, sizeof(ovr_path), "%s/overrides", dir);
	atexit(cleanup);
	return 0;
}

/* write_file - the bytes as they are */
static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL)
		abort();
	if (len)
		fwrite(data, 1, len, fp);
	fclose(fp);
}

/* substitute - the conf text with the placeholders replaced by paths */
static void
substitute(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (len - i >= 6 && memcmp(s + i, "@NETS@", 6) == 0) {
			buf_adds(out, nets_path);
			i += 5;
		} else if (len - i >= 11 && memcmp(s + i, "@OVERRIDES@", 11) == 0) {
			buf_adds(out, ovr_path);
			i += 10;
		} else {
			buf_addc(out, s[i]);
		}
	}
}

/* next_part - the bytes up to the next "\n%%\n" (or the end) */
static size_t
next_part(const char *s, size_t len, size_t *skip)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(s + i, "\n%%\n", 4) == 0) {
			*skip = i + 4;
			return i + 1;
		}
	*skip = len;
	return len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *paths[3] = { conf_path, nets_path, ovr_path };
	struct config cfg;
	struct buf errors;

	for (int i = 0; i < 3; i++) {
		size_t skip, n = next_part(s, size, &skip);
		if (i == 0) {
			struct buf b;
			buf_init(&b);
			substitute(&b, s, n);
			write_file(paths[i], b.data, b.len);
			buf_free(&b);
		} else {
			write_file(paths[i], s, n);
		}
		s += skip, size -= skip;
	}
	buf_init(&errors);
	config_defaults(&cfg);
	(void)config_load(&cfg, conf_path, &errors);
	(void)config_find_override(&cfg, "mail.example.com");
	config_free(&cfg);
	buf_free(&errors);
	return 0;
}
