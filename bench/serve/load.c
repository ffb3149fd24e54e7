/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP load generator on libcurl's multi interface, for
 * bench/serve/run.sh: CLIENTS clients, each with a keep-alive connection
 * of its own, send GETs one after another for SECONDS, cycling through
 * the URLs given; at the end it prints the number of requests, requests
 * per second, the median, p99 and maximum latency, and the answers by
 * status.
 *
 *   load CLIENTS SECONDS URL...
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

struct client {
	CURL *h;
	double started;
	size_t next_url;
};

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: load CLIENTS SECONDS URL...\n");
		return 64;
	}
	int nclients = atoi(argv[1]);
	double seconds = atof(argv[2]);
	char **urls = argv + 3;
	size_t nurls = (size_t)(argc - 3);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *m = curl_multi_init();
	struct client *cl = calloc((size_t)nclients, sizeof(*cl));
	size_t cap = 1 << 20, n = 0, by_status[600] = {0}, failed = 0;
	double *lat = malloc(cap * sizeof(*lat));
	double t0 = now_s(), end = t0 + seconds;
	for (int i = 0; i < nclients; i++) {
		cl[i].h = curl_easy_init();
		cl[i].next_url = (size_t)i % nurls;
		curl_easy_setopt(cl[i].h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(cl[i].h, CURLOPT_PRIVATE, &cl[i]);
		curl_easy_setopt(cl[i].h, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(cl[i].h, CURLOPT_URL, urls[cl[i].next_url]);
		cl[i].started = now_s();
		curl_multi_add_handle(m, cl[i].h);
	}
	int running = nclients;
	while (running > 0) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct client *c;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			double t = now_s();
			long code = 0;
			curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result != CURLE_OK)
				failed++;
			else if (code >= 0 && code < 600)
				by_status[code]++;
			if (n < cap)
				lat[n++] = t - c->started;
			curl_multi_remove_handle(m, c->h);
			if (t < end) {
				c->next_url = (c->next_url + 1) % nurls;
				curl_easy_setopt(c->h, CURLOPT_URL, urls[c->next_url]);
				c->started = now_s();
				curl_multi_add_handle(m, c->h);
				running++;
			}
		}
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	double elapsed = now_s() - t0;
	qsort(lat, n, sizeof(*lat), cmp);
	printf("clients %d, %.1f s, %zu requests, %.0f requests/s\n", nclients, elapsed, n,
	       (double)n / elapsed);
	if (n)
		printf("latency: median %.2f ms, p99 %.2f ms, max %.2f ms\n", lat[n / 2] * 1e3,
		       lat[(size_t)((double)n * 0.99)] * 1e3, lat[n - 1] * 1e3);
	printf("answers:");
	for (int s = 0; s < 600; s++)
		if (by_status[s])
			printf(" %d x %zu", s, by_status[s]);
	printf(", failed %zu\n", failed);
	for (int i = 0; i < nclients; i++)
		curl_easy_cleanup(cl[i].h);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(cl);
	free(lat);
	return failed ? 1 : 0;
}
