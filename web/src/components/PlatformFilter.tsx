import { Select } from 'antd';
import { runAnalysis } from '../api';
import { platformName } from '../format';
import { useLang, useT } from '../i18n';
import { useGlobalView, useUrlState } from '../state';
import { useAsync } from './useAsync';

interface PlatformsResult {
  platforms: { platform: string; facts: string[] }[];
}

/**
 * The global platform filter: the platforms with data in the chosen range, any number of them;
 * every page narrows its analyses to them. Lives in the URL (`platform=douyin,kuaishou`).
 */
export function PlatformFilter() {
  const t = useT();
  const lang = useLang();
  const url = useUrlState();
  const view = useGlobalView();
  const available = useAsync(
    () =>
      view.projectId
        ? runAnalysis<PlatformsResult>(view.projectId, 'platforms', {
            dateRange: { from: view.from, to: view.to },
          })
        : Promise.resolve(undefined),
    [view.projectId, view.from, view.to],
  );
  // A platform chosen in a shared link stays listed even when the range has no data for it.
  const ids = new Set([
    ...(available.data?.result.platforms.map((p) => p.platform) ?? []),
    ...view.platforms,
  ]);
  return (
    <Select
      data-testid="platform-filter"
      mode="multiple"
      allowClear
      maxTagCount="responsive"
      loading={available.loading}
      style={{ minWidth: 200, maxWidth: 360 }}
      placeholder={t('top.allPlatforms')}
      value={view.platforms}
      options={[...ids].map((id) => ({ value: id, label: platformName(id, lang) }))}
      onChange={(platforms: string[]) =>
        url.set({ platform: platforms.join(',') || undefined, page: undefined })
      }
    />
  );
}
