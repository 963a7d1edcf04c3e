from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "hackathon.leaderboard"
    label = "leaderboard"

    def ready(self) -> None:
        # The submissions app sits below this one: it reports results through this hook
        # (see hackathon.submissions.hooks) instead of importing the leaderboard.
        from hackathon.leaderboard.services import leaderboard_rebuild, leaderboard_record_result
        from hackathon.leaderboard.sharing import share_state
        from hackathon.submissions.hooks import register_leaderboard

        register_leaderboard(
            record_result=leaderboard_record_result,
            rebuild=leaderboard_rebuild,
            share_state=share_state,
        )
