/*
 * http_api_fleet: the read-only figures the dashboard draws: who the
 * caller is, the fleet by installed version and hardware, and a rollout's
 * final reports over time.  Nothing here writes.
 */
#ifndef OTAD_HTTP_API_FLEET_H
#define OTAD_HTTP_API_FLEET_H

struct http_req;

/*
 * GET /api/v1/whoami: {"kind", "role", "name"} of the API token the
 * request carries (never a secret).  Returns as http_reply.
 */
int http_api_fleet_whoami(struct http_req *req);

/*
 * GET /api/v1/fleet/summary?stale_days=N (1..3650, default 7): the
 * fleet service's summary (fleet_summary).  Returns as http_reply.
 */
int http_api_fleet_summary(struct http_req *req);

/*
 * GET /api/v1/rollouts/{id}/series?bucket_sec=N (60..604800, default
 * 3600): the rollout's completed, failed and reverted devices per time
 * bucket (by the device time of the report that made them final), with
 * the cumulative failure rate and the rollout's threshold.  At most
 * HTTP_API_FLEET_BUCKETS buckets, the newest (the cumulative counts still
 * cover the older ones), with "truncated": true when older ones were cut.
 * Returns as http_reply.
 */
int http_api_fleet_series(struct http_req *req);

/* Buckets of a series at most. */
#define HTTP_API_FLEET_BUCKETS 1000

#endif
