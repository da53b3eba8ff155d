/**
 * A connection URL as it may be shown in a message or log: the password after the user name and
 * a `password=` query parameter replaced by ***. Works on text, so an unparseable URL is masked too.
 */
export function redactedUrl(url: string): string {
  return url.replace(/(\/\/[^/:@?#]*):[^/?#]*@/, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
