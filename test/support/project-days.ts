/**
 * Days in a time zone counted back from one fixed today, for tests whose data are recent: read the
 * clock once per test, so that a test running across midnight there does not mix two todays.
 */
export function daysBackFrom(timeZone: string, now = new Date()): (back: number) => string {
  // en-CA writes dates as YYYY-MM-DD.
  const today = new Intl.DateTimeFormat('en-CA', { timeZone }).format(now);
  return (back) => new Date(Date.parse(`${today}T00:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10);
}
