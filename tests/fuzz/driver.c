/* driver: replays files given on the command line (or every file in the
 * directories given) through LLVMFuzzerTestOneInput, so a corpus runs
 * without libFuzzer, under any compiler and sanitizer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;
	if (!f) { perror(path); return 1; }
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc(n > 0 ? (size_t)n : 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) { fclose(f); return 1; }
	fclose(f);
	LLVMFuzzerTestOneInput(p, (size_t)n);
	free(p);
	return 0;
}

int main(int argc, char **argv)
{
	int i, bad = 0, count = 0;
	for (i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			while (d && (e = readdir(d))) {
				char path[4096];
				if (e->d_name[0] == '.') continue;
				snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
				bad |= one(path);
				count++;
			}
			if (d) closedir(d);
		} else { bad |= one(argv[i]); count++; }
	}
	printf("%d inputs replayed\n", count);
	return bad;
}
