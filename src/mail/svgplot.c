/* svgplot: inline SVG line and bar plots (svgplot.h). Coordinates are
 * written with one decimal; the plot area is fixed so pages line up. */
#include "mail/svgplot.h"
#include "lib/textfmt.h"
#include <string.h>

#define L 64          /* margins: left, right, top, bottom */
#define R 16
#define T 34
#define B 44

static int put(buf *b, const char *s) { return buf_puts(b, s); }
static int num(buf *b, double v) { return buf_putfix(b, v, 1); }
static int attr(buf *b, const char *name, double v)
{
	return put(b, " ") < 0 || put(b, name) < 0 || put(b, "=\"") < 0 || num(b, v) < 0 || put(b, "\"") < 0 ? -1 : 0;
}
static int text(buf *b, const char *s) { return buf_putxml(b, s, strlen(s)); }

double svgplot_top(double v)
{
	static const double m[] = {1, 2, 2.5, 5};
	double p = 1;
	size_t i;
	if (!(v > 0)) return 4;
	v /= 4;
	while (p * 10 <= v) p *= 10;
	while (p > v && p > 1e-9) p /= 10;
	for (;;) {
		for (i = 0; i < 4; i++)
			if (m[i] * p >= v) {
				double top = m[i] * p * 4;
				return top < 4 ? 4 : top;
			}
		p *= 10;
	}
}

int svgplot_draw(buf *o, const struct svgplot *p)
{
	double pw = SVG_W - L - R, ph = SVG_H - T - B;
	double xmin = p->n ? p->x[0] : 0, xmax = p->n ? p->x[p->n - 1] : 1;
	double ymax = 0, top, xs;
	size_t i, k;
	int e = 0;

	for (k = 0; k < p->nser; k++)
		for (i = 0; i < p->n; i++)
			if (p->ser[k].y[i] > ymax) ymax = p->ser[k].y[i];
	top = svgplot_top(ymax);
	xs = xmax > xmin ? pw / (xmax - xmin) : 0;
#define X(v) (xmax > xmin ? L + ((v) - xmin) * xs : L + pw / 2)
#define Y(v) (T + ph - (v) / top * ph)

	e |= put(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" id=\"");
	e |= text(o, p->id);
	e |= put(o, "\" viewBox=\"0 0 ");
	e |= buf_putnum(o, SVG_W); e |= put(o, " "); e |= buf_putnum(o, SVG_H);
	e |= put(o, "\" width=\""); e |= buf_putnum(o, SVG_W);
	e |= put(o, "\" height=\""); e |= buf_putnum(o, SVG_H);
	e |= put(o, "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n<title>");
	e |= text(o, p->title);
	e |= put(o, "</title>\n<text x=\""); e |= num(o, L);
	e |= put(o, "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">"); e |= text(o, p->title);
	e |= put(o, "</text>\n");
	/* horizontal grid with the y labels */
	for (i = 0; i <= 4; i++) {
		double v = top * (double)i / 4, y = Y(v);
		e |= put(o, "<line stroke=\"#ddd\""); e |= attr(o, "x1", L); e |= attr(o, "x2", L + pw);
		e |= attr(o, "y1", y); e |= attr(o, "y2", y); e |= put(o, "/>");
		e |= put(o, "<text text-anchor=\"end\""); e |= attr(o, "x", L - 6); e |= attr(o, "y", y + 4);
		e |= put(o, ">"); e |= buf_putfix(o, v, v == (double)(unsigned long long)v ? 0 : 1); e |= put(o, "</text>\n");
	}
	e |= put(o, "<text transform=\"rotate(-90)\" text-anchor=\"middle\""); e |= attr(o, "x", -(T + ph / 2));
	e |= attr(o, "y", 14); e |= put(o, ">"); e |= text(o, p->ylabel ? p->ylabel : ""); e |= put(o, "</text>\n");
	for (i = 0; i < p->nticks; i++) {
		double x = X(p->ticks[i].x);
		e |= put(o, "<line stroke=\"#999\""); e |= attr(o, "x1", x); e |= attr(o, "x2", x);
		e |= attr(o, "y1", T + ph); e |= attr(o, "y2", T + ph + 4); e |= put(o, "/>");
		e |= put(o, p->nticks > 10 ? "<text font-size=\"8\" text-anchor=\"middle\"" : "<text text-anchor=\"middle\"");
		e |= attr(o, "x", x); e |= attr(o, "y", T + ph + 16);
		e |= put(o, ">"); e |= text(o, p->ticks[i].label); e |= put(o, "</text>\n");
	}
	e |= put(o, "<rect fill=\"none\" stroke=\"#999\""); e |= attr(o, "x", L); e |= attr(o, "y", T);
	e |= attr(o, "width", pw); e |= attr(o, "height", ph); e |= put(o, "/>\n");
	if (p->bars && p->nser && p->n) {
		double bw = pw / (double)p->n * 0.8;
		for (i = 0; i < p->n; i++) {
			double y = Y(p->ser[0].y[i]);
			e |= put(o, "<rect class=\"bar\" fill=\""); e |= text(o, p->ser[0].color);
			e |= put(o, "\" fill-opacity=\"0.35\""); e |= attr(o, "x", X(p->x[i]) - bw / 2); e |= attr(o, "y", y);
			e |= attr(o, "width", bw); e |= attr(o, "height", T + ph - y); e |= put(o, "/>");
		}
		e |= put(o, "\n");
	}
	for (k = 0; k < p->nser; k++) {
		e |= put(o, "<path class=\"series\" fill=\"none\" stroke-width=\"1.5\" stroke=\"");
		e |= text(o, p->ser[k].color);
		e |= put(o, "\" data-series=\""); e |= text(o, p->ser[k].name);
		e |= put(o, "\" d=\"");
		for (i = 0; i < p->n; i++) {
			e |= put(o, i ? " L" : "M");
			e |= num(o, X(p->x[i])); e |= put(o, " "); e |= num(o, Y(p->ser[k].y[i]));
		}
		e |= put(o, "\"/>\n");
		/* legend */
		e |= put(o, "<line stroke-width=\"3\" stroke=\""); e |= text(o, p->ser[k].color); e |= put(o, "\"");
		e |= attr(o, "x1", L + pw - 150); e |= attr(o, "x2", L + pw - 134);
		e |= attr(o, "y1", 14 + 14 * (double)k); e |= attr(o, "y2", 14 + 14 * (double)k); e |= put(o, "/>");
		e |= put(o, "<text"); e |= attr(o, "x", L + pw - 130); e |= attr(o, "y", 18 + 14 * (double)k);
		e |= put(o, ">"); e |= text(o, p->ser[k].name); e |= put(o, "</text>\n");
	}
	e |= put(o, "</svg>\n");
	return e ? -1 : 0;
#undef X
#undef Y
}
