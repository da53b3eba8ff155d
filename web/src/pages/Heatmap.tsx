import { Empty } from 'antd';

export default function Heatmap() {
  return <Empty />;
}
