import type { ServerResponse } from "node:http";
import type { RateLimitDecision } from "./api-rate-limiter.js";

/** IETF draft `RateLimit-*` headers (reset in seconds), plus `Retry-After` on a refusal. */
export function setRateLimitHeaders(res: ServerResponse, decision: RateLimitDecision): void {
  res.setHeader("RateLimit-Limit", String(decision.limit));
  res.setHeader("RateLimit-Remaining", String(decision.remaining));
  res.setHeader("RateLimit-Reset", String(decision.resetSeconds));
  if (!decision.allowed) res.setHeader("Retry-After", String(decision.resetSeconds));
}
