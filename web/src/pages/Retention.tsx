import { Empty } from 'antd';

export default function Retention() {
  return <Empty />;
}
