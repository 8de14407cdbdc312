/**
 * Inngest did not take an event in time: the caller may retry later (HTTP: 503 with
 * Retry-After). Its own module, free of the Inngest SDK, so the route pipeline can
 * recognise it without loading the SDK at cold start.
 */
export class EventBusUnavailableError extends Error {
  override readonly name = "EventBusUnavailableError";
  constructor(
    readonly eventName: string,
    options?: ErrorOptions,
  ) {
    super(`Inngest did not take ${eventName}`, options);
  }
}
