import { Descriptions, type DescriptionsProps } from 'antd';
import { traitText } from '../format';
import { useLang } from '../i18n';

/** A person's traits as people read them (platforms by name, yes/no, lists joined). */
export function PersonTraits({
  traits,
  column,
  testId,
  style,
}: {
  traits: [string, unknown][];
  column: DescriptionsProps['column'];
  testId?: string;
  style?: React.CSSProperties;
}) {
  const lang = useLang();
  return (
    <Descriptions size="small" column={column} data-testid={testId} style={style}>
      {traits.map(([key, value]) => (
        <Descriptions.Item key={key} label={key}>
          {traitText(key, value, lang)}
        </Descriptions.Item>
      ))}
    </Descriptions>
  );
}
