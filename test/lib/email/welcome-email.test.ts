import { describe, expect, it } from "vitest";
import { escapeHtml, renderWelcomeEmail } from "../../../lib/email/welcome-email.js";

describe("the welcome email", () => {
  it("greets the user by first name in the subject, the text and the HTML", () => {
    const email = renderWelcomeEmail({ email: "ada@example.com", firstName: "Ada" }, { productName: "Acme" });
    expect(email.subject).toBe("Welcome to Acme, Ada!");
    expect(email.text).toContain("Hi Ada,");
    expect(email.text).toContain("ada@example.com");
    expect(email.html).toContain("<p>Hi Ada,</p>");
  });

  it("falls back to a neutral greeting when the user has no first name", () => {
    for (const firstName of [null, undefined, "", "   \n "]) {
      const email = renderWelcomeEmail({ email: "ada@example.com", firstName });
      expect(email.subject).toBe("Welcome!");
      expect(email.text.split("\n")[0]).toBe("Hi there,");
    }
  });

  it("shows a malicious first name as text in the HTML part, never as markup", () => {
    const firstName = `<img src=x onerror="alert('x')">&amp;`;
    const { html, text } = renderWelcomeEmail({ email: "eve@example.com", firstName });
    expect(html).not.toContain("<img");
    expect(html).not.toContain(`onerror="`);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;");
    // The plain-text part is not HTML: the name stays as typed.
    expect(text).toContain(`Hi ${firstName},`);
  });

  it("escapes the address in the HTML part too", () => {
    const { html } = renderWelcomeEmail({ email: `"<b>x</b>"@example.com`, firstName: "Ada" });
    expect(html).toContain("&quot;&lt;b&gt;x&lt;/b&gt;&quot;@example.com");
    expect(html).not.toContain("<b>");
  });

  it("keeps line breaks in a name out of the subject (no header injection) and caps its length", () => {
    const { subject, text } = renderWelcomeEmail({ email: "ada@example.com", firstName: "Ada\r\nBcc: victim@example.com" });
    expect(subject).toBe("Welcome, Ada Bcc: victim@example.com!");
    expect(subject).not.toMatch(/[\r\n]/);
    expect(text.split("\n")[0]).toBe("Hi Ada Bcc: victim@example.com,");

    const long = renderWelcomeEmail({ email: "ada@example.com", firstName: "A".repeat(500) });
    expect(long.subject).toBe(`Welcome, ${"A".repeat(64)}!`);
  });

  it("escapes every character that is special in HTML text and attributes", () => {
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
    expect(escapeHtml("Zoë")).toBe("Zoë");
  });
});
