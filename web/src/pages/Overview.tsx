import { Empty } from 'antd';

export default function Overview() {
  return <Empty />;
}
