/* remoterep: what qmail-rspawn tells qmail-send about one recipient, from
 * the output of a qmail-remote that delivered one message to several
 * recipients at once (qmail-remote(8)'s report format: recipient reports
 * r/h/s, then a message report K/Z/D, each a letter, text and NUL).
 *
 * qmail's rule, for the recipient in position i:
 *   'r' (accepted): the message report decides, with its text;
 *   'h' (refused): 'D', its text, and the message report's text when that
 *       is 'D' too ("Giving up on ...");
 *   's' (refused for now): 'Z', its text, and the message report's text
 *       when that is 'Z' or 'D';
 *   no recipient report (the delivery failed before RCPT): the message
 *       report, with its text.
 * No message report at all is a temporary failure ("qmail-remote produced
 * no output."); so is a qmail-remote that crashed or exited 111; any
 * other non-zero exit is permanent ("Unable to run qmail-remote."), as
 * qmail-rspawn has it. The text is cut at REMOTEREP_TEXT_MAX bytes. */
#ifndef NQ_REMOTEREP_H
#define NQ_REMOTEREP_H
#include <stddef.h>
#include "lib/buf.h"

#define REMOTEREP_TEXT_MAX 8000

/* s[0..len): qmail-remote's output; wstat: its wait status. Sets *st to
 * 'K', 'Z' or 'D' and text (NUL-free). -1 only when out of memory. */
int remoterep_for(const char *s, size_t len, size_t i, int wstat, char *st, buf *text);

#endif
