import { Button, theme } from 'antd';
import { useEffect, useRef } from 'react';
import { useT } from '../i18n';

type ECharts = typeof import('echarts');
let echartsModule: Promise<ECharts> | undefined;
/** ECharts is large: it loads on the first chart, not with the first page. */
const loadECharts = () => {
  echartsModule ??= import('echarts');
  return echartsModule;
};

export interface ChartClick {
  dataIndex: number;
  seriesIndex?: number;
  name: string;
  data: unknown;
  dataType?: string;
}

/** An ECharts chart with a PNG export; `option` is a plain ECharts option object. */
export function Chart({
  option,
  height = 320,
  name = 'chart',
  testId,
  onClick,
}: {
  option: Record<string, unknown>;
  height?: number;
  name?: string;
  testId?: string;
  /** Called with ECharts' click parameters (dataIndex, seriesIndex, name, data). */
  onClick?: (params: ChartClick) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  // The latest handler, so a new callback does not re-create the chart.
  const clickRef = useRef(onClick);
  clickRef.current = onClick;
  const chart = useRef<ReturnType<ECharts['init']> | undefined>(undefined);
  const { token } = theme.useToken();
  const dark = useDarkCharts();
  const t = useT();

  useEffect(() => {
    let disposed = false;
    const element = ref.current;
    loadECharts().then((echarts) => {
      if (disposed || !element) return;
      chart.current?.dispose();
      chart.current = echarts.init(element, dark ? 'dark' : undefined);
      chart.current.setOption({ backgroundColor: 'transparent', ...option });
      chart.current.on('click', (params) => clickRef.current?.(params as unknown as ChartClick));
      element.dataset.rendered = 'true';
    });
    const resize = () => chart.current?.resize();
    window.addEventListener('resize', resize);
    return () => {
      disposed = true;
      window.removeEventListener('resize', resize);
    };
  }, [option, dark]);

  useEffect(() => () => chart.current?.dispose(), []);

  const exportPng = () => {
    const url = chart.current?.getDataURL({
      type: 'png',
      pixelRatio: 2,
      backgroundColor: token.colorBgContainer,
    });
    if (!url) return;
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.png`;
    a.click();
  };

  return (
    <div style={{ position: 'relative' }}>
      <Button
        size="small"
        style={{ position: 'absolute', right: 0, top: -36, zIndex: 1 }}
        onClick={exportPng}
      >
        {t('action.exportPng')}
      </Button>
      <div ref={ref} style={{ height, width: '100%' }} data-testid={testId} data-chart={name} />
    </div>
  );
}

/** Whether charts draw in ECharts' dark theme (the dashboard's dark mode). */
export function useDarkCharts(): boolean {
  const { token } = theme.useToken();
  return token.colorBgBase !== '#fff' && token.colorBgBase !== '#ffffff';
}

/** ECharts' first series colour in the theme charts draw in: for a second series that continues the first. */
export function useFirstSeriesColor(): string {
  return useDarkCharts() ? '#4992ff' : '#5470c6';
}
