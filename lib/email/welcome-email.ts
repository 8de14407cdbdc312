/** What the welcome email needs to know about its recipient (as stored, so possibly hostile). */
export interface WelcomeEmailRecipient {
  email: string;
  firstName?: string | null;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** Longest first name shown; Clerk allows long ones, and a subject line is not the place for them. */
const maxNameLength = 64;

const htmlEscapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => htmlEscapes[char] ?? char);
}

/**
 * A user-provided name, made safe to place in a header or a line of text: control
 * characters and line breaks (header injection) become spaces, runs of whitespace
 * collapse, and it is cut to `maxNameLength` characters. `null` when nothing is left.
 */
function displayName(firstName: string | null | undefined): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = (firstName ?? "").replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ").replace(/\s+/g, " ").trim();
  if (!cleaned) return null;
  return [...cleaned].slice(0, maxNameLength).join("").trim();
}

/**
 * The welcome email, as HTML and plain text. The first name is the user's own input:
 * it is escaped in the HTML part and stripped of line breaks everywhere, so a name like
 * `<img src=x onerror=…>` is shown as text, never rendered.
 */
export function renderWelcomeEmail(recipient: WelcomeEmailRecipient, options: { productName?: string } = {}): RenderedEmail {
  const name = displayName(recipient.firstName);
  const product = options.productName?.trim() || null;
  const subject = `Welcome${product ? ` to ${product}` : ""}${name ? `, ${name}` : ""}!`;
  const greeting = name ? `Hi ${name},` : "Hi there,";
  const intro = `Thanks for signing up${product ? ` for ${product}` : ""}. Your account is ready.`;
  const account = `You signed up with ${recipient.email}. If that was not you, you can ignore this email.`;

  const text = [greeting, "", intro, "", account, ""].join("\n");
  const html = [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"><title>' + escapeHtml(subject) + "</title></head>",
    '<body style="font-family: sans-serif; line-height: 1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(intro)}</p>`,
    `<p style="color: #555">${escapeHtml(account)}</p>`,
    "</body></html>",
    "",
  ].join("\n");
  return { subject, html, text };
}
