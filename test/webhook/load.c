/*
 * load: POST numbered requests to a webhook source over keep-alive
 * connections for a bounded time and count, and write the numbers that got
 * 200 to a file, so a test can check that every acknowledged request is in
 * the table.
 *
 *   load HOST PORT PATH SECONDS CONNECTIONS MAX_REQUESTS ACKED_FILE
 *
 * Each request's body is {"id": N}.  Prints one line:
 *   requests=R ok=K other=O seconds=S rate=K/S
 * Exits 1 on a connection or protocol error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static const char *port;
static const char *path;
static double seconds;
static long max_requests;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long next_id = 0;
static long ok = 0;
static long other = 0;
static long *acked;
static int	failed = 0;
static struct timespec started;

static double
elapsed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - started.tv_sec) + (now.tv_nsec - started.tv_nsec) / 1e9;
}

static int
connect_to(void)
{
	struct addrinfo hints = {0};
	struct addrinfo *res;
	int			fd;
	int			one = 1;

	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
	{
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Read one response; returns its status, or -1. */
static int
read_response(int fd, char *buf, size_t size)
{
	size_t		have = 0;
	char	   *end = NULL;
	long		length = 0;
	int			status;
	char	   *cl;

	while (end == NULL)
	{
		ssize_t		n;

		if (have == size - 1)
			return -1;
		n = read(fd, buf + have, size - 1 - have);
		if (n <= 0)
			return -1;
		have += n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl != NULL)
		length = strtol(cl + strlen("\r\nContent-Length:"), NULL, 10);
	/* the rest of the body */
	{
		long		body_have = (long) have - (end + 4 - buf);

		while (body_have < length)
		{
			char		skip[4096];
			ssize_t		n = read(fd, skip, sizeof(skip));

			if (n <= 0)
				return -1;
			body_have += n;
		}
	}
	return status;
}

static void *
client(void *arg)
{
	int			fd = connect_to();
	char		request[1024];
	char		response[8192];

	if (fd < 0)
	{
		perror("connect");
		failed = 1;
		return NULL;
	}
	for (;;)
	{
		long		id;
		char		body[64];
		int			len;
		int			status;

		pthread_mutex_lock(&lock);
		id = next_id < max_requests && elapsed() < seconds ? next_id++ : -1;
		pthread_mutex_unlock(&lock);
		if (id < 0)
			break;
		snprintf(body, sizeof(body), "{\"id\": %ld}", id);
		len = snprintf(request, sizeof(request),
					   "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
					   "Content-Length: %zu\r\n\r\n%s", path, host, port, strlen(body), body);
		if (write(fd, request, len) != len ||
			(status = read_response(fd, response, sizeof(response))) < 0)
		{
			fprintf(stderr, "request %ld: connection failed\n", id);
			failed = 1;
			break;
		}
		pthread_mutex_lock(&lock);
		if (status == 200)
			acked[ok++] = id;
		else
			other++;
		pthread_mutex_unlock(&lock);
	}
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	int			connections;
	pthread_t  *threads;
	FILE	   *out;
	double		took;

	if (argc != 8)
	{
		fprintf(stderr, "usage: %s HOST PORT PATH SECONDS CONNECTIONS MAX_REQUESTS ACKED_FILE\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = argv[2];
	path = argv[3];
	seconds = atof(argv[4]);
	connections = atoi(argv[5]);
	max_requests = atol(argv[6]);
	acked = malloc(sizeof(long) * max_requests);
	threads = malloc(sizeof(pthread_t) * connections);

	clock_gettime(CLOCK_MONOTONIC, &started);
	for (int i = 0; i < connections; i++)
		pthread_create(&threads[i], NULL, client, NULL);
	for (int i = 0; i < connections; i++)
		pthread_join(threads[i], NULL);
	took = elapsed();

	out = fopen(argv[7], "w");
	if (out == NULL)
	{
		perror(argv[7]);
		return 1;
	}
	for (long i = 0; i < ok; i++)
		fprintf(out, "%ld\n", acked[i]);
	fclose(out);
	printf("requests=%ld ok=%ld other=%ld seconds=%.2f rate=%.0f\n",
		   ok + other, ok, other, took, ok / took);
	return failed;
}
