// eventmesh-cli request and reply.

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>

#include "commands.h"
#include "eventmesh/clock.h"
#include "eventmesh/topic.h"

namespace eventmesh::cli {
namespace {

constexpr char kRequestUsage[] =
    "usage: eventmesh-cli request TOPIC DATA [--timeout SECONDS]\n"
    "Sends DATA as a request to TOPIC and prints the reply's data (with\n"
    "--json, the reply as a CloudEvents JSON object).\n"
    "  --timeout SECONDS  how long to wait for a reply (default 5)\n"
    "  --type TYPE, --source SOURCE  the request's attributes\n"
    "  --url URL, --json, -h as for every command\n";

constexpr char kReplyUsage[] =
    "usage: eventmesh-cli reply PATTERN [--group G] -- COMMAND [ARGS...]\n"
    "Answers requests on topics matching PATTERN: runs COMMAND for each\n"
    "with the request's data on stdin and replies with its stdout. The\n"
    "request's topic, id, type and source are in EVENTMESH_TOPIC,\n"
    "EVENTMESH_ID, EVENTMESH_TYPE and EVENTMESH_SOURCE. A command that\n"
    "exits non-zero still answers, with an \"exitcode\" attribute.\n"
    "  --group G          share requests with other responders (default\n"
    "                     eventmesh-cli-reply)\n"
    "  --count N          exit after answering N requests\n"
    "  --timeout SECONDS  exit after SECONDS\n"
    "  --url URL, -h as for every command\n";

// The output and exit status of one command run.
struct CommandResult {
  std::string output;
  int exit_code = 0;
};

// Runs `argv` with `input` on its stdin and collects its stdout; stdin is
// written and stdout read together so large data cannot deadlock.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 const Event& request) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return Internal("pipe failed");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return Internal("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) return Internal(std::string("fork failed: ") + strerror(errno));
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    setenv("EVENTMESH_TOPIC", request.topic.c_str(), 1);
    setenv("EVENTMESH_ID", request.id.c_str(), 1);
    setenv("EVENTMESH_TYPE", request.type.c_str(), 1);
    setenv("EVENTMESH_SOURCE", request.source.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "eventmesh-cli reply: cannot run %s: %s\n", args[0],
                 strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);

  CommandResult result;
  size_t written = 0;
  const std::string& data = request.data;
  if (data.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  while (true) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    if (poll(fds, in[1] >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
    if (in[1] >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in[1], data.data() + written, data.size() - written);
      if (n > 0) written += n;
      if (n < 0 && errno != EAGAIN) written = data.size();  // reader gone
      if (written == data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n > 0) {
        result.output.append(buf, n);
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// Requests waiting for the main thread, which runs the command.
struct RequestQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Delivery> items;
};

}  // namespace

int RunRequest(const std::vector<std::string>& argv) {
  auto specs = CommonFlags();
  specs.insert(specs.end(), {{"timeout", true, false},
                             {"type", true, false},
                             {"source", true, false}});
  Args args;
  UsageError error;
  if (!Parse(argv, specs, &args, &error)) {
    return Usage("request", error.message);
  }
  if (args.help) {
    std::fputs(kRequestUsage, stdout);
    return kExitOk;
  }
  if (args.positional.size() != 2) {
    return Usage("request", "expected TOPIC DATA");
  }
  if (Status s = ValidateTopic(args.positional[0]); !s.ok()) {
    return Usage("request", s.message());
  }
  double timeout = 5;
  if (args.Has("timeout") && !ParseSeconds(args.Get("timeout"), &timeout)) {
    return Usage("request", "--timeout needs a number of seconds");
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;

  Event request;
  request.type = args.Get("type", "eventmesh.cli.request");
  request.source = args.Get("source", "eventmesh-cli");
  request.data = args.positional[1];
  auto reply = mesh->Request(
      args.positional[0], std::move(request),
      std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
  if (!reply.ok()) {
    return Fail(reply.status().WithContext("request to " + args.positional[0]));
  }
  if (args.Has("json")) {
    std::printf("%s\n", EncodeJson(*reply, true).c_str());
  } else {
    std::fwrite(reply->data.data(), 1, reply->data.size(), stdout);
    if (reply->data.empty() || reply->data.back() != '\n') std::putchar('\n');
  }
  mesh->Close().IgnoreError();
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

int RunReply(const std::vector<std::string>& argv) {
  auto specs = CommonFlags();
  specs.insert(specs.end(), {{"group", true, false},
                             {"count", true, false},
                             {"timeout", true, false}});
  Args args;
  UsageError error;
  if (!Parse(argv, specs, &args, &error)) return Usage("reply", error.message);
  if (args.help) {
    std::fputs(kReplyUsage, stdout);
    return kExitOk;
  }
  if (args.positional.size() != 1 || args.after_dashes.empty()) {
    return Usage("reply", "expected PATTERN -- COMMAND [ARGS...]");
  }
  if (Status s = ValidatePattern(args.positional[0]); !s.ok()) {
    return Usage("reply", s.message());
  }
  uint64_t count = 0;
  double timeout = -1;
  if (args.Has("count") && (!ParseCount(args.Get("count"), &count) || !count)) {
    return Usage("reply", "--count needs a positive number");
  }
  if (args.Has("timeout") && !ParseSeconds(args.Get("timeout"), &timeout)) {
    return Usage("reply", "--timeout needs a number of seconds");
  }
  InstallStopSignals();
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;

  RequestQueue queue;
  SubscribeOptions options;
  options.group = args.Get("group", "eventmesh-cli-reply");
  auto sub = mesh->Subscribe(
      args.positional[0],
      [&queue](const Delivery& d) {
        std::lock_guard<std::mutex> lock(queue.mu);
        queue.items.push_back(d);
        queue.cv.notify_one();
      },
      options);
  if (!sub.ok()) return Fail(sub.status().WithContext("subscribing"));

  // Commands run here, on the main thread, one request at a time.
  const int64_t start = MonotonicNanos();
  uint64_t answered = 0;
  int rc = kExitOk;
  while (!StopRequested() && (!count || answered < count)) {
    if (timeout >= 0 && (MonotonicNanos() - start) / 1e9 >= timeout) break;
    std::unique_lock<std::mutex> lock(queue.mu);
    if (queue.items.empty()) {
      queue.cv.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    Delivery d = std::move(queue.items.front());
    queue.items.pop_front();
    lock.unlock();

    auto ran = RunCommand(args.after_dashes, d.event());
    if (!ran.ok()) {
      rc = Fail(ran.status());
      break;
    }
    Event reply;
    reply.type = "eventmesh.cli.reply";
    reply.source = "eventmesh-cli";
    reply.data = std::move(ran->output);
    if (ran->exit_code != 0) {
      reply.SetExtension("exitcode", std::to_string(ran->exit_code));
    }
    if (Status s = mesh->Reply(d.event(), std::move(reply)); !s.ok()) {
      Fail(s.WithContext("replying"));
    }
    ++answered;
  }
  (*sub)->Unsubscribe().IgnoreError();
  mesh->Close().IgnoreError();
  return rc;
}

}  // namespace eventmesh::cli
