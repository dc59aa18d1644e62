namespace Cairn.Raft;

/// <summary>The kinds of single-member configuration change. Values are part of the encoding.</summary>
public enum ConfChangeType : byte
{
    /// <summary>Add a voter, or promote an existing learner to voter.</summary>
    AddVoter = 0,
    /// <summary>Add a learner (a non-voting member). Demoting a voter is not supported.</summary>
    AddLearner = 1,
    /// <summary>Remove a voter or learner.</summary>
    RemoveMember = 2,
}
