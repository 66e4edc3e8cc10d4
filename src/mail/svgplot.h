/* svgplot: the plots of qmail-report's HTML page, drawn as inline SVG by
 * our own code (no script, no external file). A plot has one x axis
 * shared by its series; each series is one <path> with exactly one point
 * per x value ("M x y" then "L x y" for the others), carrying
 * class="series" and data-series="NAME", so a test can count the points
 * and measure the path. Bars, when asked for, are drawn under the first
 * series as <rect>s. Text is XML-escaped. */
#ifndef NQ_SVGPLOT_H
#define NQ_SVGPLOT_H
#include <stddef.h>
#include "lib/buf.h"

struct svgser {
	const char *name;          /* data-series and legend */
	const char *color;         /* stroke, e.g. "#1f77b4" */
	const double *y;           /* n values */
};

struct svgtick {
	double x;                  /* in the units of the x values */
	const char *label;
};

struct svgplot {
	const char *id, *title, *ylabel;
	const double *x;           /* n ascending values */
	size_t n;
	const struct svgser *ser;
	size_t nser;
	const struct svgtick *ticks;
	size_t nticks;
	int bars;
};

#define SVG_W 760
#define SVG_H 280

/* Append the <svg> element. 0 ok, -1 out of memory. */
int svgplot_draw(buf *out, const struct svgplot *p);
/* A "nice" axis top at or above v (1, 2, 2.5 or 5 times a power of ten,
 * times 4 so that it splits in four gridlines); at least 4. */
double svgplot_top(double v);

#endif
