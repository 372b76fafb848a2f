/*
 * fdwatch - the file descriptor table. Every MTA connection holds one
 * descriptor; when the table is full the engine stops accepting until its
 * next tick (EMFILE) and new connections wait in the listen queue. So we
 * raise the soft RLIMIT_NOFILE to the hard one at start, and a periodic
 * check logs when the table nears full, is full, and recovers.
 */
#ifndef AUTHMILTER_FDWATCH_H
#define AUTHMILTER_FDWATCH_H

void fdwatch_init(void);
void fdwatch_check(void);

#endif
