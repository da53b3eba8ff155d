/**
 * Signs in through the API and answers the session cookies in the shape Playwright's
 * `context.addCookies` takes, so every fresh browser context opens the dashboard signed in.
 */
export async function signInCookies(url: string, email: string, password: string) {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!login.ok) throw new Error(`${email} cannot sign in: ${login.status}`);
  const { hostname } = new URL(url);
  return login.headers.getSetCookie().map((header) => {
    const [pair = ''] = header.split(';');
    const eq = pair.indexOf('=');
    return {
      name: pair.slice(0, eq),
      value: pair.slice(eq + 1),
      domain: hostname,
      path: '/',
      httpOnly: /;\s*HttpOnly/i.test(header),
      sameSite: 'Lax' as const,
    };
  });
}
