// The long-lived control: endpoint (route, handler), protocol (request) and client.
export { handleLongControl, requestDeadlineMs, type LongControlOptions } from './handler.js';
export { longControlRoute, DEFAULT_MAX_LONG_SESSIONS, type LongRouteOptions } from './route.js';
export { LONG_CONTROL_PATH, LONG_CONTROL_VERSION, LONG_LIMITS, parseLongRequest, type LongAnswer, type LongRequest } from './request.js';
export { longEndpointUrl, noLongControl, parseLongAnswer, queryLongControl, type LongQueryFailure, type LongQueryOptions, type LongQueryResult } from './client.js';
