/* A strict recursive-descent JSON validator for tests (see json_check.h).
 * It checks the grammar of RFC 8259: no raw control characters in strings,
 * only the defined escapes, numbers without leading zeros, no trailing
 * commas. */
#include "json_check.h"

#include <string.h>

struct p {
	const char *s;
	size_t i;
	int depth;
};

static void
ws(struct p *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r')
		p->i++;
}

static int value(struct p *p);

static int
hex4(struct p *p)
{
	for (int k = 0; k < 4; k++) {
		char ch = p->s[p->i++];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			(ch >= 'A' && ch <= 'F')))
			return 0;
	}
	return 1;
}

static int
string(struct p *p)
{
	if (p->s[p->i++] != '"')
		return 0;
	for (;;) {
		unsigned char ch = (unsigned char)p->s[p->i++];
		if (ch == '"')
			return 1;
		if (ch < 0x20)
			return 0; /* raw control character, or the end */
		if (ch != '\\')
			continue;
		ch = (unsigned char)p->s[p->i++];
		if (ch == 'u') {
			if (!hex4(p))
				return 0;
		} else if (strchr("\"\\/bfnrt", ch) == NULL || ch == 0) {
			return 0;
		}
	}
}

static int
digits(struct p *p)
{
	size_t start = p->i;
	while (p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > start;
}

static int
number(struct p *p)
{
	if (p->s[p->i] == '-')
		p->i++;
	if (p->s[p->i] == '0')
		p->i++;
	else if (!digits(p))
		return 0;
	if (p->s[p->i] == '.') {
		p->i++;
		if (!digits(p))
			return 0;
	}
	if (p->s[p->i] == 'e' || p->s[p->i] == 'E') {
		p->i++;
		if (p->s[p->i] == '+' || p->s[p->i] == '-')
			p->i++;
		if (!digits(p))
			return 0;
	}
	return 1;
}

static int
literal(struct p *p, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(p->s + p->i, word, n) != 0)
		return 0;
	p->i += n;
	return 1;
}

static int
container(struct p *p, char close, int object)
{
	p->i++;
	if (++p->depth > 64)
		return 0;
	ws(p);
	if (p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return 1;
	}
	for (;;) {
		ws(p);
		if (object) {
			if (!string(p))
				return 0;
			ws(p);
			if (p->s[p->i++] != ':')
				return 0;
		}
		if (!value(p))
			return 0;
		ws(p);
		char ch = p->s[p->i++];
		if (ch == close) {
			p->depth--;
			return 1;
		}
		if (ch != ',')
			return 0;
	}
}

static int
value(struct p *p)
{
	ws(p);
	switch (p->s[p->i]) {
	case '{':
		return container(p, '}', 1);
	case '[':
		return container(p, ']', 0);
	case '"':
		return string(p);
	case 't':
		return literal(p, "true");
	case 'f':
		return literal(p, "false");
	case 'n':
		return literal(p, "null");
	default:
		return number(p);
	}
}

int
json_lines_valid(const char *text, size_t *where)
{
	struct p p = { .s = text };
	int values = 0;
	for (;;) {
		ws(&p);
		if (p.s[p.i] == '\n') {
			p.i++;
			continue;
		}
		if (p.s[p.i] == '\0')
			break;
		if (!value(&p))
			goto bad;
		values++;
		ws(&p);
		if (p.s[p.i] != '\n' && p.s[p.i] != '\0')
			goto bad;
	}
	if (values > 0)
		return 1;
bad:
	if (where != NULL)
		*where = p.i;
	return 0;
}
