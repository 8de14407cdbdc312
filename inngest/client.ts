/**
 * The Inngest client. It is built in lib/ (from the validated config) because the API
 * sends events too (admin triggers); the functions here are registered on it.
 */
export { createInngestClient, type InngestClient } from "../lib/events/inngest-client.js";
