import { Empty } from 'antd';

export default function Funnels() {
  return <Empty />;
}
