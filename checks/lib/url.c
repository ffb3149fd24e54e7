/* SPDX-License-Identifier: MIT */
#include "url.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kit/alloc.h"

char *url_redact_password(const char *url)
{
	if (!url)
		return xstrdup("");
	CURLU *u = xnonnull(curl_url());
	char *pw = NULL, *shown = NULL, *out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		out = xstrdup(URL_MASK);
		goto done;
	}
	CURLUcode rc = curl_url_get(u, CURLUPART_PASSWORD, &pw, 0);
	if (rc == CURLUE_NO_PASSWORD) {
		/* Nothing to hide: the URL as the runbook wrote it, not as
		 * curl would normalise it. */
		out = xstrdup(url);
		goto done;
	}
	if (rc != CURLUE_OK || curl_url_set(u, CURLUPART_PASSWORD, URL_MASK, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &shown, 0) != CURLUE_OK) {
		out = xstrdup(URL_MASK);
		goto done;
	}
	out = xstrdup(shown);
done:
	if (pw)
		explicit_bzero(pw, strlen(pw));
	curl_free(pw);
	curl_free(shown);
	curl_url_cleanup(u);
	return out;
}
