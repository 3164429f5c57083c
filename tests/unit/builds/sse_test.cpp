#include "builds/sse.h"

#include <gtest/gtest.h>

namespace strata::builds {
namespace {

TEST(ServerSentEvents, OneLineEventCarriesSeqAsId) {
  BuildEvent event{.seq = 7, .type = EventType::log, .data = "#2 [2/3] RUN make"};
  EXPECT_EQ(sse_event(event), "id: 7\nevent: log\ndata: #2 [2/3] RUN make\n\n");
}

TEST(ServerSentEvents, StatusEventUsesItsType) {
  BuildEvent event{.seq = 9, .type = EventType::status, .data = R"({"status":"ready"})"};
  EXPECT_EQ(sse_event(event), "id: 9\nevent: status\ndata: {\"status\":\"ready\"}\n\n");
}

TEST(ServerSentEvents, MultiLineDataBecomesOneDataLinePerLine) {
  BuildEvent event{.seq = 3, .type = EventType::log, .data = "first\nsecond\r\nthird\rfourth"};
  EXPECT_EQ(sse_event(event), "id: 3\nevent: log\ndata: first\ndata: second\ndata: third\ndata: fourth\n\n");
}

TEST(ServerSentEvents, TrailingAndEmptyLinesSurvive) {
  BuildEvent event{.seq = 4, .type = EventType::log, .data = "a\n\nb\n"};
  // A client joins the data lines with "\n": "a\n\nb\n".
  EXPECT_EQ(sse_event(event), "id: 4\nevent: log\ndata: a\ndata: \ndata: b\ndata: \n\n");
  BuildEvent empty{.seq = 5, .type = EventType::log, .data = ""};
  EXPECT_EQ(sse_event(empty), "id: 5\nevent: log\ndata: \n\n");
}

TEST(ServerSentEvents, HeartbeatLeavesTheLastEventIdAlone) {
  EXPECT_EQ(sse_heartbeat(), "event: heartbeat\ndata: {}\n\n");
}

TEST(ServerSentEvents, LastEventIdIsADecimalSeq) {
  EXPECT_EQ(parse_last_event_id("42"), 42u);
  EXPECT_EQ(parse_last_event_id("0"), 0u);
  EXPECT_EQ(parse_last_event_id(""), std::nullopt);
  EXPECT_EQ(parse_last_event_id("-1"), std::nullopt);
  EXPECT_EQ(parse_last_event_id("4 2"), std::nullopt);
  EXPECT_EQ(parse_last_event_id("abc"), std::nullopt);
  EXPECT_EQ(parse_last_event_id("99999999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace strata::builds
