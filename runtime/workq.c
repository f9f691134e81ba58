/* The work queue (see workq.h): a mutex, a condition variable and a
 * singly linked FIFO; close drains before joining. */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct job {
	rt_job_fn fn;
	void *arg;
	struct job *next;
};

struct rt_workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	int closing;
	int nthreads;
	pthread_t threads[];
};

static void *
worker_main(void *arg)
{
	rt_workq *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == NULL && !q->closing)
			pthread_cond_wait(&q->cv, &q->mu);
		struct job *j = q->head;
		if (j == NULL)
			break; /* closing and drained */
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
rt_workq_open(rt_workq **out, int threads, const char *name)
{
	(void)name;
	rt_workq *q = calloc(1,
	    sizeof(*q) + (size_t)threads * sizeof(pthread_t));
	if (q == NULL)
		return -ENOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker_main, q) != 0) {
			q->nthreads = i;
			rt_workq_close(q);
			return -EAGAIN;
		}
	}
	q->nthreads = threads;
	*out = q;
	return 0;
}

int
rt_workq_push(rt_workq *q, rt_job_fn fn, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (j == NULL)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->closing) {
		pthread_mutex_unlock(&q->mu);
		free(j);
		return -ESHUTDOWN;
	}
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t
rt_workq_take_more(rt_workq *q, rt_job_fn fn, int (*same)(void *arg),
    void **out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&q->mu);
	while (n < max && q->head != NULL && q->head->fn == fn &&
	    same(q->head->arg)) {
		struct job *j = q->head;
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		out[n++] = j->arg;
		free(j);
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
rt_workq_drain(rt_workq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	int first = !q->closing;
	q->closing = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (!first)
		return;
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
}

void
rt_workq_close(rt_workq *q)
{
	if (q == NULL)
		return;
	rt_workq_drain(q);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}
