/* The status page's HTML, CSS and JS (served at "/" by http_status.c):
 * one self-contained document that polls /status.json every 2 s and
 * renders the cluster. Each store row is tr#store-<id> with data-state
 * (UP, DOWN, READONLY, UNKNOWN), body[data-loaded="1"] once the first
 * answer is shown and body[data-renders] counts the answers shown: what
 * tests and scripts can rely on. */
#ifndef DIR_STATUS_PAGE_H
#define DIR_STATUS_PAGE_H

extern const char dir_status_page[];

#endif
