import { Empty } from 'antd';

export default function Paths() {
  return <Empty />;
}
