// Limits that keep one misbehaving client from hurting the others: what one operation may ask
// (query-limits.ts, query-cost.ts), how often a caller may ask (rate-limits.ts, token-buckets.ts)
// and how many WebSocket connections it may hold (connection-limits.ts).
export * from './query-limits';
export * from './query-cost';
export * from './rate-limits';
export * from './token-buckets';
export * from './connection-limits';
export * from './limits-redis';
