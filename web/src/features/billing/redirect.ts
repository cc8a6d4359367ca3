/** Leaves the app for a Lemon Squeezy page (checkout, portal); one place so tests can stub it. */
export function redirectTo(url: string): void {
  window.location.assign(url)
}
