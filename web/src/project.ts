import { createContext, useCallback, useContext } from 'react';
import { dateTime } from './format';
import { useLang } from './i18n';

/** A project as the dashboard knows it. */
export interface Project {
  id: string;
  name: string;
  timeZone: string;
  currency: string;
}

/** The project open in the dashboard (undefined until the list of projects has loaded). */
export const ProjectContext = createContext<Project | undefined>(undefined);

/** The open project's time zone: days and hours of analyses are the project's, so are shown times. */
export function useProjectTimeZone(): string | undefined {
  return useContext(ProjectContext)?.timeZone;
}

/**
 * Formats a time (UTC ms or ISO text) in the dashboard's language and the project's time zone, so
 * that an event at 00:30 in Shanghai reads as that day wherever the browser is.
 */
export function useDateTime(): (at: number | string) => string {
  const lang = useLang();
  const timeZone = useProjectTimeZone();
  return useCallback((at: number | string) => dateTime(at, lang, timeZone), [lang, timeZone]);
}
