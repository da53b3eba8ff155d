import { Empty } from 'antd';

export default function Distribution() {
  return <Empty />;
}
