import { Alert, Button, Empty, Spin } from 'antd';
import type { ReactNode } from 'react';
import { errorText } from '../api';
import { useLang, useT } from '../i18n';
import type { AsyncState } from './useAsync';

/** Loading, error and empty states that say what to do; children render once there is data. */
export function PageState<T>({
  state,
  isEmpty,
  children,
}: {
  state: AsyncState<T>;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  const t = useT();
  const lang = useLang();
  if (state.error) {
    const message = errorText(state.error, lang);
    return (
      <Alert
        type="error"
        showIcon
        data-testid="state-error"
        message={`${t('state.error')} ${message}`}
        action={<Button onClick={state.reload}>{t('state.retry')}</Button>}
      />
    );
  }
  if (state.data === undefined) {
    return (
      <div style={{ padding: 48, textAlign: 'center' }} data-testid="state-loading">
        <Spin tip={t('state.loading')}>
          <div style={{ height: 40 }} />
        </Spin>
      </div>
    );
  }
  if (isEmpty?.(state.data)) return <Empty data-testid="state-empty" description={t('state.empty')} />;
  return (
    <div
      data-testid={state.loading ? 'state-refreshing' : 'state-ready'}
      style={{ opacity: state.loading ? 0.6 : 1 }}
    >
      {children(state.data)}
    </div>
  );
}
